"""Multi-class bag of n-grams: one automaton pass sums K weight columns over every key occurrence.

The learned emotion model (server/emotion_model.py, fitted by lexicons/tools/fit_emotions.py)
is linear: per output column k, ``z_k = bias_k + dense @ dense_w[:, k] + ngrams_k / norm``,
where ``ngrams_k`` sums ``weights[key, k]`` over every occurrence of every key in the text
(overlapping, also inside a longer key: a bag of substrings, as `kernels.utterance.BagKernel`
counts for one column) and ``norm = max(1, hits) ** power`` damps long texts. The dense part
holds the features the utterance kernel already computed (valence, arousal, label, ...), so
the whole model is one compiled call after the utterance kernel's.
"""

import threading

import numpy as np
from numba import njit

from kernels import automaton, layout
from kernels._cache import depend_on
from kernels.automaton import UTF16, build_automaton, goto, pack
from kernels.layout import FITEM, HD_EDGES, HD_NODES, ITEM, KEY, N_DICT, N_KEY, NODE


@njit(cache=True, nogil=True)
def _ngram_sums(units, table, weights, at, out):
    """Add the key's row of ``weights`` (rows of ``len(out)`` from index ``at``) into ``out`` for
    every key occurrence; return the occurrences."""
    nodes = table[HD_NODES]
    edges = table[HD_EDGES]
    k_cols = out.shape[0]
    state = 0
    hits = 0
    for j in range(units.shape[0]):
        state = goto(table, nodes, edges, state, np.int64(units[j]))
        row = nodes + NODE * state
        node = state if table[row + N_KEY] >= 0 else table[row + N_DICT]
        while node > 0:
            row = nodes + NODE * node
            first = at + k_cols * table[row + N_KEY]
            for k in range(k_cols):
                out[k] += weights[first + k]
            hits += 1
            node = table[row + N_DICT]
    return hits


@njit(cache=True, nogil=True)
def _linear(units, table, params, dense, power, out):
    """``out[:] = bias + dense @ dense_w + ngram sums / max(1, hits) ** power``; hits.

    ``params`` is `NgramKernel.params`: bias, then dense_w row by row, then the n-gram rows
    (one array for the three: each array argument costs a type check on every call)."""
    k_cols = out.shape[0]
    out[:] = 0.0
    at = k_cols * (1 + dense.shape[0])
    hits = _ngram_sums(units, table, params, at, out)
    scale = 1.0
    if hits > 1 and power != 0.0:
        scale = 1.0 / (hits**power)
    for k in range(k_cols):
        z = params[k] + out[k] * scale
        for f in range(dense.shape[0]):
            z += dense[f] * params[k_cols * (1 + f) + k]
        out[k] = z
    return hits


# they inline the automaton step and freeze the layout constants (see kernels._cache)
depend_on(_ngram_sums, automaton, layout)
depend_on(_linear, automaton, layout)


class NgramKernel:
    """A linear model over a bag of n-grams plus dense features, K outputs at once.

    Parameters
    ----------
    keys_units : list of str
        The n-grams as code-unit strings (`kernels.utterance.code_units`); key id = index.
    weights : float64[n_keys, K]
        Weight of each n-gram in each output column, added once per occurrence.
    bias : float64[K]
        Intercept of each column.
    dense_w : float64[F, K]
        Weight of each dense feature in each column (F may be 0).
    power : float
        The n-gram sums are divided by ``max(1, hits) ** power`` (0: raw sums; 0.5: by the
        square root of the occurrences).
    """

    __slots__ = ("automaton", "table", "params", "outputs", "features", "power", "_local")

    def __init__(
        self,
        keys_units: list[str],
        weights: np.ndarray,
        bias: np.ndarray,
        dense_w: np.ndarray,
        power: float = 0.0,
    ) -> None:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        bias = np.ascontiguousarray(bias, dtype=np.float64)
        dense_w = np.ascontiguousarray(dense_w, dtype=np.float64)
        k_cols = bias.shape[0] if bias.ndim == 1 else -1
        if k_cols < 1:
            raise ValueError("bias must be a 1-D array of K >= 1 floats, one per output column")
        if weights.shape != (len(keys_units), k_cols):
            raise ValueError(
                f"weights must have shape ({len(keys_units)}, {k_cols}): one row per key, "
                "one column per output"
            )
        if dense_w.ndim != 2 or dense_w.shape[1] != k_cols:
            raise ValueError(f"dense_w must have shape (F, {k_cols}), got {dense_w.shape}")
        for name, array in (("weights", weights), ("bias", bias), ("dense_w", dense_w)):
            if not np.isfinite(array).all():
                raise ValueError(f"{name} must be finite")
        if not (np.isfinite(power) and power >= 0.0):
            raise ValueError(f"power must be a finite float >= 0, got {power}")
        self.automaton = build_automaton(keys_units)
        no_keys = np.zeros((0, KEY), dtype=np.int32)
        no_items = np.zeros((0, ITEM), dtype=np.int32)
        self.table, _ = pack(self.automaton, no_keys, no_items, np.zeros((0, FITEM)), [])
        self.params = np.concatenate([bias, dense_w.ravel(), weights.ravel()])
        self.outputs = k_cols
        self.features = dense_w.shape[0]
        self.power = float(power)
        self._local = threading.local()

    def sums(self, units: np.ndarray) -> tuple[int, np.ndarray]:
        """(occurrences, float64[K] of summed n-gram weights) in ``uint16`` ``units``."""
        out = np.zeros(self.outputs)
        at = self.outputs * (1 + self.features)
        return _ngram_sums(units, self.table, self.params, at, out), out

    def score(self, units: np.ndarray, dense: np.ndarray) -> list[float]:
        """The K outputs for ``uint16`` code units and float64[F] ``dense``.

        The kernel writes into a buffer of the calling thread (nothing allocated per call)."""
        out = getattr(self._local, "out", None)
        if out is None:
            out = self._local.out = np.empty(self.outputs)
        _linear(units, self.table, self.params, dense, self.power, out)
        return out.tolist()


def warmup() -> None:
    """Compile `_ngram_sums` and `_linear` (or load them from the cache)."""
    kernel = NgramKernel(
        ["ab", "b"], np.array([[0.5, -1.0], [0.25, 0.0]]), np.zeros(2), np.ones((1, 2)), 0.5
    )
    units = np.frombuffer("xab".encode(UTF16), dtype=np.uint16)
    kernel.score(units, np.ones(1))
    kernel.sums(units)
