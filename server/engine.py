"""The scoring engine in use: one lexicon and its analyzer, swapped atomically on reload."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from server.config import Config, build_section
from server.lexicon import Lexicon, load_lexicon, pack_dir
from server.scoring import Analyzer, EmotionParams

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scoring:
    """A lexicon version and the analyzer built over it; never changed once built."""

    lexicon: Lexicon
    analyzer: Analyzer


class Engine:
    """Holds the current Scoring; readers take `engine.current` once per request."""

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._params = build_section("emotion", EmotionParams, cfg.emotion)
        self._reload_lock = threading.Lock()
        self.current = self._build()

    def _build(self) -> Scoring:
        lex = self._cfg.lexicons
        dirs = [*(pack_dir(name) for name in lex.packs), *(Path(d) for d in lex.extra_dirs)]
        lexicon = load_lexicon(dirs)
        return Scoring(lexicon, Analyzer(lexicon, self._params))

    def reload(self) -> Scoring:
        """Builds the new version fully, then swaps one reference: requests never see a mix."""
        with self._reload_lock:
            fresh = self._build()
            old = self.current
            self.current = fresh
        log.info("lexicons reloaded: %s -> %s", old.lexicon.version, fresh.lexicon.version)
        return fresh
