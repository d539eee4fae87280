"""Bag-of-n-grams kernel: a weight per automaton key, summed over every occurrence in a text."""

import numpy as np
from numba import njit

from kernels import automaton, layout
from kernels._cache import depend_on
from kernels.automaton import UTF16, build_automaton, goto, pack
from kernels.layout import FITEM, HD_EDGES, HD_NODES, ITEM, KEY, N_DICT, N_KEY, NODE


@njit(cache=True, nogil=True)
def _bag(units, table, weights):
    """(occurrences, summed weight) of every key at every position, overlaps included."""
    nodes = table[HD_NODES]
    edges = table[HD_EDGES]
    state = 0
    hits = 0
    total = 0.0
    for j in range(units.shape[0]):
        state = goto(table, nodes, edges, state, np.int64(units[j]))
        row = nodes + NODE * state
        node = state if table[row + N_KEY] >= 0 else table[row + N_DICT]
        while node > 0:
            row = nodes + NODE * node
            total += weights[table[row + N_KEY]]
            hits += 1
            node = table[row + N_DICT]
    return hits, total


# it inlines `goto` and freezes the layout's constants: an edit there must reach its cache
depend_on(_bag, automaton, layout)


class BagKernel:
    """A weight per key, summed over every occurrence: a linear model over a bag of n-grams.

    Parameters
    ----------
    keys_units : list of str
        Keys as code-unit strings (`kernels.automaton.code_units`); key id = index.
    weights : float64[n_keys]
        Weight per key (any finite real).
    """

    __slots__ = ("automaton", "table", "weights")

    def __init__(self, keys_units: list[str], weights: np.ndarray) -> None:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        if weights.shape != (len(keys_units),) or not np.isfinite(weights).all():
            raise ValueError(f"weights must be {len(keys_units)} finite floats, one per key")
        self.automaton = build_automaton(keys_units)
        no_keys = np.zeros((0, KEY), dtype=np.int32)
        no_items = np.zeros((0, ITEM), dtype=np.int32)
        self.table, _ = pack(self.automaton, no_keys, no_items, np.zeros((0, FITEM)), [])
        self.weights = weights

    def score(self, units: np.ndarray) -> tuple[int, float]:
        """(occurrences of keys, sum of their weights) in ``uint16`` code units ``units``."""
        return _bag(units, self.table, self.weights)


def warmup() -> None:
    """Compile `_bag` (or load it from the cache) with the types passed later."""
    units = np.frombuffer("xab".encode(UTF16), dtype=np.uint16)
    BagKernel(["ab", "b"], np.array([0.5, -0.25])).score(units)
