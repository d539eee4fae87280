"""Scan and selection: the leftmost-longest, non-overlapping matches of the automaton's keys.

Raw hits come out of the automaton by end position, longest first at one end (as pyahocorasick
reports them); a key flagged "bounded" at an end needs no ASCII letter or digit next to it there
(English words). Positions are in UTF-16 code units; `char_offsets` turns them into characters.
"""

import numpy as np
from numba import njit

from kernels.automaton import goto
from kernels.layout import HD_EDGES, HD_KEYS, HD_NODES, K_BOUNDED, K_UNITS, KEY, N_DICT, N_KEY, NODE


@njit(cache=True, nogil=True)
def is_word(unit):
    """An ASCII letter or digit: what a bounded key must not touch."""
    return (48 <= unit <= 57) or (65 <= unit <= 90) or (97 <= unit <= 122)


@njit(cache=True, nogil=True, inline="always")
def select(units, table, ks, ke, kk):
    """Scan ``units`` and keep the leftmost-longest, non-overlapping matches.

    Parameters
    ----------
    units : uint16[n]
        The text's code units.
    table : int32[:]
        The packed int table (`kernels.automaton.pack`).
    ks, ke, kk : int64[n + 2]
        Filled with the kept matches in text order: first unit, past-last unit, key id. Row 0
        is a sentinel that ends before any match (so the backward search always stops).

    Returns
    -------
    (rows, bangs, questions) : the rows filled (kept matches + 1), and the "!" and "?" counted
    on the way.
    """
    n = units.shape[0]
    nodes = table[HD_NODES]
    edges = table[HD_EDGES]
    keys = table[HD_KEYS]
    m = 0
    top_first = -1
    top_last = -1
    top_key = -1
    state = 0
    bangs = 0
    questions = 0
    for j in range(n):
        unit = np.int64(units[j])
        if unit == 33:
            bangs += 1
        elif unit == 63:
            questions += 1
        state = goto(table, nodes, edges, state, unit)
        # every key ending here, longest first
        row = nodes + NODE * state
        node = state if table[row + N_KEY] >= 0 else table[row + N_DICT]
        while node > 0:
            row = nodes + NODE * node
            key = table[row + N_KEY]
            node = table[row + N_DICT]
            first = j - table[keys + KEY * key + K_UNITS] + 1
            bounded = table[keys + KEY * key + K_BOUNDED]
            if first > top_first:
                if first <= top_last:  # starts inside the top ("满意" after "不满意")
                    continue
                if bounded:
                    if bounded & 1 and first > 0 and is_word(units[first - 1]):
                        continue
                    if bounded & 2 and j + 1 < n and is_word(units[j + 1]):
                        continue
                ks[m] = top_first
                ke[m] = top_last + 1
                kk[m] = top_key
                m += 1
            else:
                if bounded:  # (the same test as above: a helper taking `units` costs here)
                    if bounded & 1 and first > 0 and is_word(units[first - 1]):
                        continue
                    if bounded & 2 and j + 1 < n and is_word(units[j + 1]):
                        continue
                if first != top_first:  # covers kept matches: drop them unless one overlaps
                    i = m - 1
                    while ks[i] >= first:
                        i -= 1
                    if ke[i] > first:
                        continue
                    m = i + 1
            top_first = first
            top_last = j
            top_key = key
    if top_first >= 0:
        ks[m] = top_first
        ke[m] = top_last + 1
        kk[m] = top_key
        m += 1
    return m, bangs, questions


@njit(cache=True, nogil=True, inline="always")
def char_offsets(units, kept):
    """(astral, chars): whether the text has surrogate pairs and, if it has and ``kept`` > 0,
    the character offset of each code-unit offset 0..n (a unit's index less the pairs before it).
    """
    n = units.shape[0]
    astral = False
    if kept:
        for j in range(n):
            if 0xDC00 <= units[j] <= 0xDFFF:
                astral = True
                break
    chars = np.empty(n + 1 if astral else 0, dtype=np.int64)
    if astral:
        pairs = 0
        chars[0] = 0
        for j in range(n):
            if 0xDC00 <= units[j] <= 0xDFFF and j > 0 and 0xD800 <= units[j - 1] <= 0xDBFF:
                pairs += 1
            chars[j + 1] = j + 1 - pairs
    return astral, chars
