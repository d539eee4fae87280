"""Numba kernels: utterance scoring, distinct-agent report windows (P0) and trend sketches (P1).

Call `warmup` once at start-up, before the health service reports SERVING and before any
worker process is forked: it compiles every kernel, or loads it from ``NUMBA_CACHE_DIR``
when an earlier process already compiled it.
"""

import time

import numpy as np

from kernels.distinct import DistinctWindows
from kernels.keys import hash_agent, hash_key
from kernels.ngram import warmup as _warmup_ngram
from kernels.trend import TrendSketch, is_anomalous
from kernels.utterance import UtteranceKernel
from kernels.utterance import warmup as _warmup_utterance

__all__ = [
    "DistinctWindows",
    "TrendSketch",
    "UtteranceKernel",
    "hash_agent",
    "hash_key",
    "is_anomalous",
    "warmup",
]


def warmup() -> float:
    """Compile (or load from cache) every kernel with the types the wrappers pass.

    Each public method runs once on tiny arrays, so the signatures compiled here are the
    ones later calls use and no request pays for a compile.

    Returns
    -------
    float
        Seconds spent, for the start-up log.
    """
    started = time.perf_counter()
    windows = DistinctWindows(n_keys=2, agents_per_key=2)
    windows.add(0, 1, 1_000, 300_000)
    windows.add_batch(
        np.array([0, 1], dtype=np.int64),
        np.array([2, 3], dtype=np.int64),
        np.array([1_000, 2_000], dtype=np.int64),
        300_000,
    )
    windows.count(0, 2_000, 300_000)
    windows.reset_key(0)

    sketch = TrendSketch(depth=1, width=2)
    recent, baseline = sketch.add(hash_key("warmup"), 1_000)
    recents, baselines = sketch.add_batch(
        np.array([1, 2], dtype=np.uint64), np.array([1_000, 2_000], dtype=np.int64)
    )
    sketch.estimate(1, 2_000)
    sketch.columns(1)
    is_anomalous(recent, baseline, 5, 3.0, 1.0)
    is_anomalous(recents, baselines, 5, 3.0, 1.0)
    _warmup_utterance()
    _warmup_ngram()
    return time.perf_counter() - started
