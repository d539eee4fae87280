"""Stable 64-bit hashes that turn tag, topic and agent strings into kernel keys."""

from hashlib import blake2b

import numpy as np

# Distinct personalisation strings keep the two key spaces independent: a topic and an agent
# with the same spelling never share a hash by construction.
_TOPIC_PERSON = b"voc.trend"
_AGENT_PERSON = b"voc.agent"


def hash_key(key: str) -> np.uint64:
    """Hash a normalised topic or combination key to the ``uint64`` a `TrendSketch` takes.

    Stable across processes, machines and Python versions (8-byte BLAKE2b of the UTF-8
    bytes), unlike the built-in ``hash()``, which is salted per process.

    Parameters
    ----------
    key : str
        The already-normalised key, e.g. ``"topic:logistics_delay"`` or
        ``"combo:model x|black screen"``.

    Returns
    -------
    numpy.uint64
    """
    digest = blake2b(key.encode("utf-8"), digest_size=8, person=_TOPIC_PERSON).digest()
    return np.uint64(int.from_bytes(digest, "little", signed=False))


def hash_agent(agent_id: str) -> np.int64:
    """Hash an agent id string to the ``int64`` a `DistinctWindows` takes.

    Stable across processes (8-byte BLAKE2b). Two agent ids collide with probability
    about ``n**2 / 2**65`` for ``n`` agents, negligible for any contact center.

    Parameters
    ----------
    agent_id : str

    Returns
    -------
    numpy.int64
    """
    digest = blake2b(agent_id.encode("utf-8"), digest_size=8, person=_AGENT_PERSON).digest()
    return np.int64(int.from_bytes(digest, "little", signed=True))
