"""Aho-Corasick over UTF-16 code units: the automaton as flat arrays, built, packed and stepped."""

import sys
from typing import NamedTuple

import numpy as np
from numba import njit

from kernels import layout
from kernels._cache import depend_on
from kernels.layout import (
    EDGE,
    HD_EDGES,
    HD_ITEMS,
    HD_KEYS,
    HD_NODES,
    N_CHILD_HI,
    N_CHILD_LO,
    N_DICT,
    N_FAIL,
    N_KEY,
    NODE,
    ROOT,
)

#: The codec whose output `np.frombuffer(..., np.uint16)` reads as code units on this machine.
UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"


class Automaton(NamedTuple):
    """An Aho-Corasick automaton over UTF-16 code units, as flat arrays.

    root : int32[65536]
        Child of the root for each code unit (0: none, stay at the root).
    nodes : int32[n_nodes, 5]
        Per node: first and past-last edge (``N_CHILD_LO``, ``N_CHILD_HI``), failure link,
        key id ending here or -1 (``N_KEY``), nearest proper suffix node ending a key or -1
        (``N_DICT``). The root is node 0.
    edges : int32[n_edges, 2]
        (code unit, child node), sorted by unit within each node's range.
    """

    root: np.ndarray
    nodes: np.ndarray
    edges: np.ndarray


def code_units(surface: str) -> str:
    """`surface` as a str of its UTF-16 code units (an astral character becomes two)."""
    if surface.isascii() or max(surface) <= "\uffff":
        return surface
    raw = surface.encode(UTF16, "surrogatepass")
    return "".join(chr(int(u)) for u in np.frombuffer(raw, dtype=np.uint16))


def build_automaton(keys: list[str]) -> Automaton:
    """Build the automaton of ``keys`` (strs of code units, see `code_units`); key id = index.

    Python hands the keys over as one array of code units in sorted order; `_build_trie` lays
    the trie out from it and links it, compiled (about 20 ms for the 40k keys of the built-in
    lexicons, where the same in Python took 0.3 s of start-up).
    """
    if any(not k or max(k) > "\uffff" for k in keys):
        raise ValueError("keys must be non-empty strs of code units (see code_units)")
    order = sorted((k, i) for i, k in enumerate(keys))  # str order of code units
    joined = "".join(k for k, _ in order)
    units = np.array([ord(c) for c in joined], dtype=np.int64)
    lengths = np.array([len(k) for k, _ in order], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    ids = np.array([i for _, i in order], dtype=np.int64)
    parent, label, key_of, n = _build_trie(units, offsets, ids)
    parent, label = parent[:n], label[:n]
    nodes = np.zeros((n, 5), dtype=np.int32)
    nodes[:, N_KEY] = key_of[:n]
    order_edges = np.lexsort((label[1:], parent[1:])) + 1
    edges = np.empty((n - 1, 2), dtype=np.int32)
    edges[:, 0] = label[order_edges]
    edges[:, 1] = order_edges
    bounds = np.concatenate(([0], np.cumsum(np.bincount(parent[order_edges], minlength=n))))
    nodes[:, N_CHILD_LO] = bounds[:-1]
    nodes[:, N_CHILD_HI] = bounds[1:]
    root = np.zeros(65536, dtype=np.int32)
    first = edges[nodes[0, N_CHILD_LO] : nodes[0, N_CHILD_HI]]
    root[first[:, 0]] = first[:, 1]
    _link(nodes, edges, root, parent, label)
    return Automaton(root, nodes, edges)


@njit(cache=True, nogil=True)
def _build_trie(units, offsets, ids):
    """(parent, label, key id, node count) of the trie of sorted, distinct, non-empty keys.

    In sorted order the part of a key already in the trie is its common prefix with the key
    before it, so each key adds its remaining units as a chain of new nodes (node 0: root).
    """
    n_keys = offsets.shape[0] - 1
    size = units.shape[0] + 1
    parent = np.zeros(size, dtype=np.int64)
    label = np.zeros(size, dtype=np.int64)
    key_of = np.full(size, -1, dtype=np.int64)
    longest = 0
    for k in range(n_keys):
        longest = max(longest, offsets[k + 1] - offsets[k])
    path = np.zeros(longest + 1, dtype=np.int64)
    n = 1
    for k in range(n_keys):
        start = offsets[k]
        length = offsets[k + 1] - start
        shared = 0
        if k:
            before = offsets[k - 1]
            limit = min(length, start - before)
            while shared < limit and units[start + shared] == units[before + shared]:
                shared += 1
        for d in range(shared, length):
            parent[n] = path[d]
            label[n] = units[start + d]
            path[d + 1] = n
            n += 1
        key_of[path[length]] = ids[k]
    return parent, label, key_of, n


@njit(cache=True, nogil=True)
def _link(nodes, edges, root, parent, label):
    """Fill the failure and dictionary-suffix links of ``nodes``, shortest nodes first.

    The failure link of a node (its longest proper suffix in the trie) is found from its
    parent's: follow the parent's failure links until one has a child by the node's unit.
    """
    n = nodes.shape[0]
    depth = np.zeros(n, dtype=np.int64)
    for v in range(1, n):
        depth[v] = depth[parent[v]] + 1  # a parent is always created before its children
    for v in np.argsort(depth, kind="mergesort"):
        if v == 0:
            nodes[0, N_FAIL] = 0
            nodes[0, N_DICT] = -1
            continue
        fail = 0
        if parent[v] != 0:
            f = nodes[parent[v], N_FAIL]
            unit = label[v]
            while True:
                child = 0
                if f == 0:
                    child = root[unit]
                else:
                    lo = nodes[f, N_CHILD_LO]
                    hi = nodes[f, N_CHILD_HI]
                    while lo < hi:
                        mid = (lo + hi) >> 1
                        if edges[mid, 0] < unit:
                            lo = mid + 1
                        elif edges[mid, 0] > unit:
                            hi = mid
                        else:
                            child = edges[mid, 1]
                            break
                if child or f == 0:
                    fail = child
                    break
                f = nodes[f, N_FAIL]
        nodes[v, N_FAIL] = fail
        nodes[v, N_DICT] = fail if nodes[fail, N_KEY] >= 0 else nodes[fail, N_DICT]


# both freeze the layout's constants: an edit there must not load their old machine code
depend_on(_build_trie, layout)
depend_on(_link, layout)


# The kernels take every table packed into one int32 array and one float64 array: each array
# argument costs a type check and a reference count on every call from Python (and a helper
# taking several arrays costs the same per character, which is why `goto` takes only the one
# table and is inlined). The layout is `kernels.layout`'s (``HD_*``, ``ROOT``).


def pack(
    automaton: Automaton, keys: np.ndarray, items_i: np.ndarray, items_f: np.ndarray, params
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(int table, float table)`` the kernels read (layout: `kernels.layout`)."""
    parts = [automaton.root, automaton.nodes, automaton.edges, keys, items_i]
    header = np.zeros(ROOT, dtype=np.int64)
    offset = ROOT
    for slot, part in zip((None, HD_NODES, HD_EDGES, HD_KEYS, HD_ITEMS), parts, strict=True):
        if slot is not None:
            header[slot] = offset
        offset += part.size
    if offset > np.iinfo(np.int32).max:
        raise ValueError(f"lexicon too large for one int32 table ({offset} entries)")
    table = np.concatenate([header.astype(np.int32)] + [p.astype(np.int32).ravel() for p in parts])
    floats = np.concatenate([np.asarray(params, dtype=np.float64), items_f.ravel()])
    return table, floats


@njit(cache=True, nogil=True, inline="always")
def goto(table, nodes, edges, state, unit):
    """The state after ``unit``: the node's child by binary search, else its failure link's."""
    while True:
        if state == 0:
            return table[ROOT + unit]
        row = nodes + NODE * state
        lo = table[row + N_CHILD_LO]
        hi = table[row + N_CHILD_HI]
        while lo < hi:
            mid = (lo + hi) >> 1
            found = table[edges + EDGE * mid]
            if found < unit:
                lo = mid + 1
            elif found > unit:
                hi = mid
            else:
                return table[edges + EDGE * mid + 1]
        state = table[row + N_FAIL]
