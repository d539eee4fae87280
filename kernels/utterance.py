"""Utterance kernel: Aho-Corasick scan, leftmost-longest selection and the emotion model in one pass.

The text arrives as its UTF-16 code units (``np.uint16``), so Chinese, English, full-width forms
and emoji are all one alphabet and no word segmentation is needed. The automaton is a trie over
code units with failure and dictionary-suffix links, held in flat int32 arrays (`Automaton`,
made by `build_automaton`); each key of the automaton is a lexicon surface form, and each key
carries one or more *items* (the same word can be a topic and an emotion).

Why compiled: in Python, what costs is not the scan (pyahocorasick does it in C) but the code
run for each of the ~30 raw hits per 100 Chinese characters, and getting the hits out of
pyahocorasick into an array costs more than the scan itself. Here the scan, the selection and
the per-term arithmetic run in one compiled loop, and Python only turns the few kept matches
into result objects. ``tests/naive_scoring.py`` keeps the previous pure-Python implementation on
top of pyahocorasick, and the tests hold the two to the same answers.

Semantics (what `server.scoring.Analyzer` documents), in order:

1. raw hits are reported by end position, longest first at one end (as pyahocorasick does);
2. leftmost-longest, non-overlapping selection; a key flagged "bounded" at an end needs no
   ASCII letter or digit next to it there (English words);
3. the kept items in text order feed the emotion model: negators flip the next term within
   their reach (no clause break and no 就 in between: "再不X就Y"), intensifiers and diminishers
   scale it, contrast words damp what came before and weight what follows; vocabulary words
   only win the match; escalation threats are anger no negator flips (the first one is
   returned); a complaint marker not negated adds disappointment and makes every neutral
   topic of the utterance a complaint;
4. valence, arousal, polarity, label and intensity, from the summed evidence, the "!" and "?"
   counted here and the other surface cues the caller measured (``cue``, added to arousal).
"""

import sys
import threading
from typing import NamedTuple

import numpy as np
from numba import njit

# Item codes. Term codes first, then modifiers (``NEG <= code <= CONTRAST``), then signals:
# a vocabulary word (no meaning, it only wins the match), an escalation threat, a complaint marker.
EMOTION, TOPIC, ENTITY, SYMPTOM, NEG, INT, DIM, CONTRAST, WORD, ESCALATE, MARK = range(11)
# Columns of ``items_i`` (int32) and ``items_f`` (float64): one row per item.
I_CODE, I_SIGN, I_SLOT, I_CATEGORY, I_POLARITY, I_FLIPPED = range(6)
F_WEIGHT, F_AROUSAL = range(2)
# Columns of ``keys`` (int32): one row per automaton key.
K_UNITS, K_CHARS, K_BOUNDED, K_ITEM_LO, K_ITEM_HI = range(5)
# Columns of the automaton's ``nodes`` (int32): one row per trie node, the root is row 0.
N_CHILD_LO, N_CHILD_HI, N_FAIL, N_KEY, N_DICT = range(5)
# Topic polarity codes (``I_POLARITY`` / ``I_FLIPPED``).
NEUTRAL, COMPLAINT, PRAISE = range(3)
# Emotion buckets, in server.lexicon.EMOTIONS order.
ANGER, ANXIETY, DISAPP, SAD, SATIS, JOY, GRAT, NEGATIVE, POSITIVE = range(9)
# Labels, in server.scoring.LABELS order.
CALM, ANGRY, ANXIOUS, DISAPPOINTED, SADNESS, SATISFIED, HAPPY, GRATEFUL = range(8)
#: Order of the entries of the ``params`` array (names of server.scoring.EmotionParams fields).
PARAMS = (
    "negated_negative",
    "negated_intensifier",
    "contrast_before",
    "topic_valence",
    "negative_gain",
    "valence_softness",
    "dead_zone",
    "arousal_base",
    "arousal_terms_cap",
    "angry_arousal",
    "happy_arousal",
    "intensity_valence",
    "intensity_arousal",
    "exclamation_boost",
    "exclamation_cap",
    "question_boost",
    "question_cap",
)
(
    P_NEGATED_NEGATIVE,
    P_NEGATED_INTENSIFIER,
    P_CONTRAST_BEFORE,
    P_TOPIC_VALENCE,
    P_NEGATIVE_GAIN,
    P_VALENCE_SOFTNESS,
    P_DEAD_ZONE,
    P_AROUSAL_BASE,
    P_AROUSAL_TERMS_CAP,
    P_ANGRY_AROUSAL,
    P_HAPPY_AROUSAL,
    P_INTENSITY_VALENCE,
    P_INTENSITY_AROUSAL,
    P_EXCLAMATION_BOOST,
    P_EXCLAMATION_CAP,
    P_QUESTION_BOOST,
    P_QUESTION_CAP,
) = range(len(PARAMS))
#: The scalars `_score` returns, in order (``R_END`` < 0: the buffer is too small).
(
    R_END,
    R_LABEL,
    R_POLARITY,
    R_KEPT,
    R_MATCHES,
    R_TOPICS,
    R_ENTITIES,
    R_SYMPTOMS,
    R_INTENSITY,
    R_VALENCE,
    R_AROUSAL,
    R_ESCALATION,
) = range(12)
#: The int records: 4 per match, then 2 per topic, then entity and symptom category ids.
M_ITEM, M_START, M_END, M_NEGATED = range(4)


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


# The kernel takes every table packed into one int32 array and one float64 array: each array
# argument costs a type check and a reference count on every call from Python (and a helper
# taking several arrays costs the same per character, which is why `_goto` takes only the one
# table and is inlined). Layout of the int table: a header of offsets, then root, nodes, edges, keys and
# items row by row; the float table holds the params, then a row of items_f per item.
HD_NODES, HD_EDGES, HD_KEYS, HD_ITEMS = range(4)
ROOT = 8  # the root's 65536 entries start after the 8-entry header
NODE, EDGE, KEY, ITEM, FITEM = 5, 2, 5, 6, 2  # row widths


def pack(
    automaton: Automaton, keys: np.ndarray, items_i: np.ndarray, items_f: np.ndarray, params
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(int table, float table)`` the kernel reads (layout above)."""
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
def _goto(table, nodes, edges, state, unit):
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


@njit(cache=True, nogil=True)
def _is_word(unit):
    return (48 <= unit <= 57) or (65 <= unit <= 90) or (97 <= unit <= 122)


@njit(cache=True, nogil=True)
def _is_break(unit):
    """A clause break after NFKC: , . ! ? ; : 。 … or a newline."""
    return (
        unit == 44
        or unit == 46
        or unit == 33
        or unit == 63
        or unit == 59
        or unit == 58
        or unit == 0x3002
        or unit == 0x2026
        or unit == 10
    )


@njit(cache=True, nogil=True)
def _negator_reaches(units, lo, hi):
    """True when no clause break, and no 就, stands in units[lo:hi] between a negator and a term:
    就 starts the consequence of a condition, so in "再不X就Y" the 不 is X's, never Y's."""
    for u in range(lo, hi):
        if _is_break(units[u]) or units[u] == 0x5C31:
            return False
    return True


@njit(cache=True, nogil=True)
def _score(units, table, floats, cue, with_matches, out):
    """Score one utterance into ``out``; tables as `pack` lays them out.

    Returns the scalars named by the ``R_*`` constants: ``R_END`` is the index past the int
    records, which start at ``3 * (len(units) + 2)`` and are followed by the float ones
    (`UtteranceKernel.score` reads them), or minus the size ``out`` needs when it is too small.
    """
    n = units.shape[0]
    nodes = table[HD_NODES]
    edges = table[HD_EDGES]
    keys = table[HD_KEYS]
    items = table[HD_ITEMS]
    fitems = len(PARAMS)
    # --- scan and leftmost-longest selection (positions in code units, last inclusive) ---
    # Kept matches below the top; the first one pushed is the initial top, a sentinel that
    # ends before any match (so the backward search below always stops).
    rows = 3 * (n + 2)
    if out.shape[0] < rows + 9:
        return (-(rows + 9), 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, -1)
    ks = out[: n + 2]
    ke = out[n + 2 : 2 * (n + 2)]
    kk = out[2 * (n + 2) : rows]
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
        state = _goto(table, nodes, edges, state, unit)
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
                    if bounded & 1 and first > 0 and _is_word(units[first - 1]):
                        continue
                    if bounded & 2 and j + 1 < n and _is_word(units[j + 1]):
                        continue
                ks[m] = top_first
                ke[m] = top_last + 1
                kk[m] = top_key
                m += 1
            else:
                if bounded:
                    if bounded & 1 and first > 0 and _is_word(units[first - 1]):
                        continue
                    if bounded & 2 and j + 1 < n and _is_word(units[j + 1]):
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
    kept = m - 1
    total = 0
    for i in range(1, m):
        total += table[keys + KEY * kk[i] + K_ITEM_HI] - table[keys + KEY * kk[i] + K_ITEM_LO]
    # Character offsets: a unit's index less the surrogate pairs before it.
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

    # --- the emotion model over the kept items, in text order ---
    # Regions of `out` after the kept rows: the int results (reserved for every item), the
    # float results, then scratch for topics, entities, symptoms and the emotion buckets.
    need = rows + 9 + 15 * total
    if out.shape[0] < need:
        return (-need, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, -1)
    reals = out.view(np.float64)
    at = rows + 8 * total
    out_i = out[rows:at]
    out_f = reals[at : at + 2 * total]
    at += 2 * total
    topic_cat = out[at : at + total]
    topic_pol = out[at + total : at + 2 * total]
    entities = out[at + 2 * total : at + 3 * total]
    symptoms = out[at + 3 * total : at + 4 * total]
    at += 4 * total
    buckets = reals[at : at + 9]
    buckets[:] = 0.0
    topic_w = reals[at + 9 : at + 9 + total]
    n_emit = n_topics = n_entities = n_symptoms = 0
    negated_negative = floats[P_NEGATED_NEGATIVE]
    negated_intensifier = floats[P_NEGATED_INTENSIFIER]
    contrast_before = floats[P_CONTRAST_BEFORE]
    topic_valence = floats[P_TOPIC_VALENCE]
    val = 0.0
    neg_val = 0.0
    aro = 0.0
    neg = 0.0
    mod = 0.0
    neg_end = mod_end = neg_win = mod_win = 0
    neg_end_u = mod_end_u = 0
    mod_int = False
    cmul = 1.0
    escalation = -1
    complained = False
    for i in range(1, m):
        start_u = ks[i]
        end_u = ke[i]
        key = keys + KEY * kk[i]
        if astral:
            start = chars[start_u]
            end = start + table[key + K_CHARS]
        else:
            start = start_u
            end = end_u
        for it in range(table[key + K_ITEM_LO], table[key + K_ITEM_HI]):
            row = items + ITEM * it
            frow = fitems + FITEM * it
            code = table[row + I_CODE]
            sign = table[row + I_SIGN]
            slot = table[row + I_SLOT]
            weight = floats[frow + F_WEIGHT]
            if code >= WORD:
                if code == WORD:  # wins the match, adds nothing ("更改" hides the "更")
                    continue
                if code == ESCALATE:
                    # A threat is anger that a conditional negation never flips: the 不 of
                    # "再不处理我要投诉" belongs to the condition. Only a negator right before
                    # it (half the usual reach, no 就) denies it: "我不会投诉到消协".
                    negated = False
                    if neg != 0.0:
                        clause = _negator_reaches(units, neg_end_u, start_u)
                        # the negator stays pending for the key's other items ("cancel my
                        # account" is also an anger term): threats come first in a key
                        negated = clause and start - neg_end <= neg_win // 2
                    eff = weight * cmul
                    if not negated:
                        neg_val += eff
                        buckets[ANGER] += eff
                        aro += eff * floats[frow + F_AROUSAL]
                        if escalation < 0:
                            escalation = it
                else:  # a complaint marker ("要求核实"), unless negated ("没有投诉")
                    negated = False
                    if neg != 0.0:
                        clause = _negator_reaches(units, neg_end_u, start_u)
                        negated = clause and start - neg_end <= neg_win
                        neg = 0.0
                    eff = weight * cmul
                    if not negated:
                        complained = True
                        contribution = eff * topic_valence
                        neg_val += contribution
                        buckets[DISAPP] += contribution
                if with_matches:
                    r = 4 * n_emit
                    out_i[r + M_ITEM] = it
                    out_i[r + M_START] = start
                    out_i[r + M_END] = end
                    out_i[r + M_NEGATED] = negated
                    out_f[n_emit] = eff
                    n_emit += 1
                continue
            if code >= NEG:
                if code == NEG:
                    if neg != 0.0 and start - neg_end <= neg_win:
                        neg *= weight  # "不是不" double negation
                    else:
                        neg = weight
                    neg_end = end
                    neg_end_u = end_u
                    neg_win = slot
                elif code == CONTRAST:
                    val *= contrast_before
                    neg_val *= contrast_before
                    aro *= contrast_before
                    for b in range(9):
                        buckets[b] *= contrast_before
                    cmul = weight
                    neg = 0.0
                    mod = 0.0
                else:
                    mod = weight
                    mod_int = code == INT
                    mod_end = end
                    mod_end_u = end_u
                    mod_win = slot
                if with_matches:
                    r = 4 * n_emit
                    out_i[r + M_ITEM] = it
                    out_i[r + M_START] = start
                    out_i[r + M_END] = end
                    out_i[r + M_NEGATED] = 0
                    out_f[n_emit] = weight
                    n_emit += 1
                continue
            negated = False
            if neg != 0.0 or mod != 0.0:
                factor = cmul
                if neg != 0.0:
                    clause = _negator_reaches(units, neg_end_u, start_u)
                    if clause and start - neg_end <= neg_win:
                        factor *= neg
                        negated = True
                        if sign < 0:
                            factor *= negated_negative
                    neg = 0.0
                if mod != 0.0:
                    clause = True
                    for u in range(mod_end_u, start_u):
                        if _is_break(units[u]):
                            clause = False
                            break
                    if clause and start - mod_end <= mod_win:
                        factor *= negated_intensifier if (negated and mod_int) else mod
                    mod = 0.0
                eff = weight * factor
            else:
                eff = weight * cmul
            if code == EMOTION:
                if eff > 0:
                    if sign > 0:
                        val += eff
                    else:
                        neg_val += eff
                    buckets[slot] += eff
                    aro += eff * floats[frow + F_AROUSAL]
                else:
                    if sign < 0:
                        val -= eff
                    else:
                        neg_val -= eff
                    if sign > 0:  # "不满意" from 不 + 满意: not satisfied is disappointed
                        buckets[DISAPP] -= eff
                    else:
                        buckets[POSITIVE] -= eff
            elif code == TOPIC:
                if sign != 0:
                    contribution = eff * topic_valence
                    if sign * contribution > 0:
                        val += contribution if contribution > 0 else -contribution
                    else:
                        neg_val += contribution if contribution > 0 else -contribution
                    if eff > 0:
                        buckets[slot] += contribution
                    elif sign > 0:
                        buckets[DISAPP] -= contribution
                said = table[row + I_FLIPPED] if negated else table[row + I_POLARITY]
                category = table[row + I_CATEGORY]
                t = 0
                while t < n_topics and topic_cat[t] != category:
                    t += 1
                if t == n_topics:
                    topic_cat[t] = category
                    topic_pol[t] = said
                    topic_w[t] = weight
                    n_topics += 1
                elif weight > topic_w[t] or (weight == topic_w[t] and said == COMPLAINT):
                    topic_pol[t] = said
                    topic_w[t] = weight
            elif code == ENTITY:
                entities[n_entities] = table[row + I_CATEGORY]
                n_entities += 1
            elif not negated:  # "没有黑屏" denies the symptom: no combination
                symptoms[n_symptoms] = table[row + I_CATEGORY]
                n_symptoms += 1
            if with_matches:
                r = 4 * n_emit
                out_i[r + M_ITEM] = it
                out_i[r + M_START] = start
                out_i[r + M_END] = end
                out_i[r + M_NEGATED] = negated
                out_f[n_emit] = eff if eff >= 0 else -eff
                n_emit += 1

    # --- valence, arousal, label ---
    # "!" and "?" (after NFKC), counted up to their caps, then the cues the caller measured;
    # summed in this order, as server.scoring.surface_cues does.
    cap = floats[P_EXCLAMATION_CAP]
    cue = (
        floats[P_EXCLAMATION_BOOST] * (bangs if bangs < cap else cap)
        + (
            floats[P_QUESTION_BOOST]
            * (questions if questions < floats[P_QUESTION_CAP] else floats[P_QUESTION_CAP])
        )
        + cue
    )
    arousal_cap = floats[P_AROUSAL_TERMS_CAP]
    arousal = floats[P_AROUSAL_BASE] + (aro if aro < arousal_cap else arousal_cap) + cue
    arousal = 0.0 if arousal < 0.0 else (1.0 if arousal > 1.0 else arousal)
    val -= neg_val * floats[P_NEGATIVE_GAIN]
    if val != 0.0:
        valence = val / ((val if val > 0.0 else -val) + floats[P_VALENCE_SOFTNESS])
    else:
        valence = 0.0
    dz = floats[P_DEAD_ZONE]
    if valence <= -dz:
        polarity = -1
        # The dominant bucket; on ties the first compared wins (anger before anxiety, ...).
        top = ANGER
        best = buckets[ANGER]
        if buckets[ANXIETY] > best:
            top = ANXIETY
            best = buckets[ANXIETY]
        if buckets[SAD] > best:
            top = SAD
            best = buckets[SAD]
        if buckets[DISAPP] > best:
            top = DISAPP
            best = buckets[DISAPP]
        if buckets[NEGATIVE] > best:
            top = NEGATIVE
        if top == ANGER and buckets[ANGER] > 0.0:
            label = ANGRY
        elif top == ANXIETY:
            label = ANXIOUS
        elif arousal >= floats[P_ANGRY_AROUSAL]:
            label = ANGRY
        elif top == SAD:
            label = SADNESS
        else:
            label = DISAPPOINTED
    elif valence >= dz:
        polarity = 1
        top = GRAT
        best = buckets[GRAT]
        if buckets[JOY] > best:
            top = JOY
            best = buckets[JOY]
        if buckets[SATIS] > best:
            top = SATIS
            best = buckets[SATIS]
        if buckets[POSITIVE] > best:
            top = POSITIVE
        if top == GRAT:
            label = GRATEFUL
        elif top == JOY or (top == POSITIVE and arousal >= floats[P_HAPPY_AROUSAL]):
            label = HAPPY
        else:
            label = SATISFIED
    else:
        polarity = 0
        label = CALM
    intensity = 0.0
    if polarity != 0:
        size = valence if valence > 0.0 else -valence
        intensity = floats[P_INTENSITY_VALENCE] * size + floats[P_INTENSITY_AROUSAL] * arousal
        if intensity > 1.0:
            intensity = 1.0

    r = 4 * n_emit
    for t in range(n_topics):
        out_i[r] = topic_cat[t]
        # A complaint marker makes every topic the text only names a complaint ("...套餐...,
        # 客户要求核实"): the customer complains about what they talk about.
        out_i[r + 1] = COMPLAINT if complained and topic_pol[t] == NEUTRAL else topic_pol[t]
        out_f[n_emit + t] = topic_w[t]
        r += 2
    for e in range(n_entities):
        out_i[r] = entities[e]
        r += 1
    for s in range(n_symptoms):
        out_i[r] = symptoms[s]
        r += 1
    # The floats follow the ints; the copy runs forward into lower or equal indexes.
    for i in range(n_emit + n_topics):
        reals[rows + r + i] = out_f[i]
    return (
        rows + r,
        label,
        polarity,
        kept,
        n_emit,
        n_topics,
        n_entities,
        n_symptoms,
        intensity,
        valence,
        arousal,
        escalation,
    )


@njit(cache=True, nogil=True)
def _bag(units, table, weights):
    """(occurrences, summed weight) of every key at every position, overlaps included."""
    nodes = table[HD_NODES]
    edges = table[HD_EDGES]
    state = 0
    hits = 0
    total = 0.0
    for j in range(units.shape[0]):
        state = _goto(table, nodes, edges, state, np.int64(units[j]))
        row = nodes + NODE * state
        node = state if table[row + N_KEY] >= 0 else table[row + N_DICT]
        while node > 0:
            row = nodes + NODE * node
            total += weights[table[row + N_KEY]]
            hits += 1
            node = table[row + N_DICT]
    return hits, total


class BagKernel:
    """A weight per key, summed over every occurrence: a linear model over a bag of n-grams.

    Parameters
    ----------
    keys_units : list of str
        Keys as code-unit strings (`code_units`); key id = index.
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


class UtteranceKernel:
    """The automaton and item tables of one lexicon, checked and packed once; `score` runs it.

    Parameters
    ----------
    keys_units : list of str
        Automaton keys as code-unit strings (`code_units`); key id = index.
    keys : int32[n_keys, 5]
        Per key: length in code units, length in characters, bounded bits (1: needs a word
        boundary before, 2: after), first and past-last item row.
    items_i : int32[n_items, 6]
        Per item: code (``EMOTION`` ... ``MARK``), sign (-1, 0, 1), slot (emotion bucket,
        or a modifier's reach in characters), category id, topic polarity and polarity when
        negated (``NEUTRAL``, ``COMPLAINT``, ``PRAISE``).
    items_f : float64[n_items, 2]
        Per item: weight (modifiers: the multiplier) and the bucket's arousal (emotions).
    params : float64[len(PARAMS)]
        The emotion model's weights, in `PARAMS` order.
    """

    __slots__ = ("automaton", "table", "floats", "_local")

    def __init__(
        self,
        keys_units: list[str],
        keys: np.ndarray,
        items_i: np.ndarray,
        items_f: np.ndarray,
        params: np.ndarray,
    ) -> None:
        keys = _table("keys", keys, np.int32, KEY, len(keys_units))
        items_i = _table("items_i", items_i, np.int32, ITEM)
        items_f = _table("items_f", items_f, np.float64, FITEM, items_i.shape[0])
        params = np.ascontiguousarray(params, dtype=np.float64)
        if params.shape != (len(PARAMS),) or not np.isfinite(params).all():
            raise ValueError(f"params must be {len(PARAMS)} finite floats in PARAMS order")
        if not np.isfinite(items_f).all():
            raise ValueError("items_f must be finite")
        if len(keys_units):
            if (keys[:, K_UNITS] != [len(k) for k in keys_units]).any():
                raise ValueError("keys[:, K_UNITS] must be the length of each key in code units")
            if (keys[:, K_CHARS] < 1).any() or (keys[:, K_CHARS] > keys[:, K_UNITS]).any():
                raise ValueError("keys[:, K_CHARS] must be in 1..K_UNITS")
            lo, hi = keys[:, K_ITEM_LO], keys[:, K_ITEM_HI]
            if (lo < 0).any() or (hi <= lo).any() or (hi > items_i.shape[0]).any():
                raise ValueError("each key needs an item range 0 <= lo < hi <= len(items)")
        if items_i.shape[0]:
            codes = items_i[:, I_CODE]
            if (codes < EMOTION).any() or (codes > MARK).any():
                raise ValueError("items_i[:, I_CODE] must be EMOTION..MARK")
            slots = items_i[(codes == EMOTION) | (codes == TOPIC), I_SLOT]
            if (slots < -1).any() or (slots > POSITIVE).any():
                raise ValueError("an emotion or topic item's slot must be a bucket 0..8 (or -1)")
            polarities = items_i[:, [I_POLARITY, I_FLIPPED]]
            if (polarities < NEUTRAL).any() or (polarities > PRAISE).any():
                raise ValueError("items_i polarities must be NEUTRAL, COMPLAINT or PRAISE")
        self.automaton = build_automaton(keys_units)
        self.table, self.floats = pack(self.automaton, keys, items_i, items_f, params)
        self._local = threading.local()

    def score(
        self, units: np.ndarray, cue: float, with_matches: bool
    ) -> tuple[tuple, list[int], list[float]]:
        """Score one utterance given as ``uint16`` code units.

        ``cue`` is what surface cues other than "!" and "?" add to arousal (the kernel counts
        those two itself).

        Returns ``(scalars, ints, floats)``. ``scalars`` are named by the ``R_*`` constants
        (label, polarity, kept matches, record counts, intensity, valence, arousal, the item
        of the first escalation threat or -1); ``ints``
        holds a record ``(item, start, end, negated)`` per match in text order (character
        offsets; none unless ``with_matches``), then ``(category, polarity)`` per topic in
        first-seen order, then entity and symptom category ids; ``floats`` a weight per match,
        then a score per topic. The kernel writes into a buffer of the calling thread, so
        nothing is allocated per call and threads score in parallel.
        """
        local = self._local
        out = getattr(local, "out", None)
        if out is None:
            out = self._grow(4096)
        scalars = _score(units, self.table, self.floats, cue, with_matches, out)
        while scalars[0] < 0:  # a long text: grow this thread's buffer and score again
            out = self._grow(max(-scalars[0], 2 * out.shape[0]))
            scalars = _score(units, self.table, self.floats, cue, with_matches, out)
        end = scalars[0]
        start = 3 * units.shape[0] + 6
        if end == start:
            return scalars, [], []
        ints = out[start:end].tolist()
        reals = scalars[R_MATCHES] + scalars[R_TOPICS]
        return scalars, ints, local.reals[end : end + reals].tolist() if reals else []

    def _grow(self, size: int) -> np.ndarray:
        """A new buffer of ``size`` int64 for this thread, with its float64 view made once."""
        out = self._local.out = np.empty(size, dtype=np.int64)
        self._local.reals = out.view(np.float64)
        return out


def _table(name: str, values: np.ndarray, dtype: type, cols: int, rows: int | None = None):
    array = np.ascontiguousarray(values, dtype=dtype)
    if array.ndim != 2 or array.shape[1] != cols or (rows is not None and len(array) != rows):
        want = f"({rows if rows is not None else 'n'}, {cols})"
        raise ValueError(f"{name} must have shape {want}, got {array.shape}")
    return array


def warmup() -> None:
    """Compile `_score` and `_bag` (or load them from the cache) with the types passed later."""
    kernel = UtteranceKernel(
        ["ab"],
        np.array([[2, 2, 3, 0, 1]], dtype=np.int32),
        np.array([[EMOTION, 1, SATIS, 0, NEUTRAL, NEUTRAL]], dtype=np.int32),
        np.array([[1.0, 0.2]]),
        np.zeros(len(PARAMS)),
    )
    units = np.frombuffer("xab".encode(UTF16), dtype=np.uint16)
    kernel.score(units, 0.0, True)
    BagKernel(["ab", "b"], np.array([0.5, -0.25])).score(units)
