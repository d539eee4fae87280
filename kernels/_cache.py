"""Numba's on-disk cache, made to notice changes in the modules a cached kernel is built from."""

import hashlib
import logging
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)


def depend_on(dispatcher, *modules: ModuleType) -> None:
    """Make the cache of ``dispatcher`` stale whenever a file of ``modules`` changes.

    Numba stamps a cached function with its own source file only, so a kernel that inlines
    functions from other modules, or froze their constants, would load its old machine code
    after an edit there (numba/numba#1833, documented under "Cache invalidation"). The stamp
    becomes the function's own plus a digest of the other files. Numba keeps the stamp in a
    private attribute; when a release moves it, this logs and leaves the default in place.
    """
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    stamp = getattr(cache_file, "_source_stamp", None)
    if stamp is None:
        logger.warning("numba cache stamp not found; edits to %s need a cache clear", modules)
        return
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    cache_file._source_stamp = (stamp, digest.hexdigest())
