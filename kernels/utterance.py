"""Utterance kernel: one compiled call scans, selects and runs the emotion model on a text.

The text arrives as its UTF-16 code units (``np.uint16``), so Chinese, English, full-width forms
and emoji are all one alphabet and no word segmentation is needed. The pieces, each compiled and
inlined into the one entry `_score`:

- `kernels.automaton`: the Aho-Corasick automaton over code units, as flat int32 arrays; each
  key is a lexicon surface form carrying one or more *items* (the same word can be a topic and
  an emotion);
- `kernels.selection`: the scan and the leftmost-longest, non-overlapping selection;
- `kernels.emotion`: the emotion model over the kept items, in text order, and the label;
- `kernels.layout`: the tables' columns and the output's records, which `server.scoring`
  decodes with the same constants.

Why compiled: in Python, what costs is not the scan (pyahocorasick does it in C) but the code
run for each of the ~30 raw hits per 100 Chinese characters, and getting the hits out of
pyahocorasick into an array costs more than the scan itself. Here the scan, the selection and
the per-term arithmetic run in one compiled call, and Python only turns the few kept matches
into result objects. ``tests/naive_scoring.py`` keeps the previous pure-Python implementation on
top of pyahocorasick, and the tests hold the two to the same answers.
"""

import threading

import numpy as np
from numba import njit

from kernels import automaton, emotion, layout, selection
from kernels._cache import depend_on
from kernels.automaton import UTF16, Automaton, build_automaton, code_units, pack
from kernels.bag import BagKernel
from kernels.bag import warmup as _warmup_bag
from kernels.emotion import emotion as _emotion
from kernels.emotion import read_items
from kernels.layout import *  # noqa: F403 - the layout's names, as callers and tests use them
from kernels.layout import (
    CLAUSED,
    COMPLAINT,
    EMOTION,
    FITEM,
    HD_KEYS,
    I_CODE,
    I_FLIPPED,
    I_POLARITY,
    I_SLOT,
    ITEM,
    K_CHARS,
    K_ITEM_HI,
    K_ITEM_LO,
    K_UNITS,
    KEY,
    MARK,
    MATCH,
    NEUTRAL,
    PARAMS,
    POSITIVE,
    PRAISE,
    R_MATCHES,
    R_TOPICS,
    SATIS,
    TOPIC,
    TOPIC_INTS,
    records_start,
    records_start_jit,
)
from kernels.selection import char_offsets, select

__all__ = [
    "UTF16",
    "Automaton",
    "BagKernel",
    "UtteranceKernel",
    "build_automaton",
    "code_units",
    "warmup",
]


@njit(cache=True, nogil=True)
def _score(units, table, floats, cue, with_matches, out):
    """Score one utterance into ``out``; tables as `pack` lays them out.

    Returns the scalars named by the ``R_*`` constants: ``R_END`` is the index past the int
    records, which start at `records_start` and are followed by the float ones
    (`UtteranceKernel.score` reads them), or minus the size ``out`` needs when it is too small.

    ``out`` (int64, with a float64 view) holds, in order: the kept matches (three rows of
    ``n + 2``), the int records (reserved for every item of the kept matches), the float
    records, then scratch for topics, entities, symptoms and the emotion buckets.
    """
    n = units.shape[0]
    rows = records_start_jit(n)
    if out.shape[0] < rows + 9:
        return (-(rows + 9), 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, -1)
    ks = out[: n + 2]
    ke = out[n + 2 : 2 * (n + 2)]
    kk = out[2 * (n + 2) : rows]
    m, bangs, questions = select(units, table, ks, ke, kk)
    kept = m - 1
    keys = table[HD_KEYS]
    total = 0
    for i in range(1, m):
        total += table[keys + KEY * kk[i] + K_ITEM_HI] - table[keys + KEY * kk[i] + K_ITEM_LO]
    astral, chars = char_offsets(units, kept)

    # per item: 8 ints for records (at most MATCH + CLAUSED), 2 floats, topic category and
    # polarity, an entity and a symptom (CLAUSED each), a topic weight; then the 9 buckets
    need = rows + (8 + 2 + 2 + 2 * CLAUSED + 1) * total + 9
    if out.shape[0] < need:
        return (-need, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, -1)
    reals = out.view(np.float64)
    at = rows + 8 * total
    out_i = out[rows:at]
    out_f = reals[at : at + 2 * total]
    at += 2 * total
    topic_cat = out[at : at + total]
    topic_pol = out[at + total : at + 2 * total]
    entities = out[at + 2 * total : at + (2 + CLAUSED) * total]
    symptoms = out[at + (2 + CLAUSED) * total : at + (2 + 2 * CLAUSED) * total]
    at += (2 + 2 * CLAUSED) * total
    buckets = reals[at : at + 9]
    buckets[:] = 0.0
    topic_w = reals[at + 9 : at + 9 + total]
    (
        val,
        neg_val,
        aro,
        escalation,
        complained,
        n_emit,
        n_topics,
        n_entities,
        n_symptoms,
    ) = read_items(
        units,
        table,
        floats,
        ks,
        ke,
        kk,
        m,
        astral,
        chars,
        with_matches,
        out_i,
        out_f,
        buckets,
        topic_cat,
        topic_pol,
        topic_w,
        entities,
        symptoms,
    )
    label, polarity, intensity, valence, arousal = _emotion(
        floats, val, neg_val, aro, buckets, bangs, questions, cue
    )

    r = MATCH * n_emit
    for t in range(n_topics):
        out_i[r] = topic_cat[t]
        # A complaint marker or a threat makes every topic the text only names a complaint
        # ("...套餐..., 客户要求核实", "不退款我就曝光"): it is what the customer complains about.
        out_i[r + 1] = COMPLAINT if complained and topic_pol[t] == NEUTRAL else topic_pol[t]
        out_f[n_emit + t] = topic_w[t]
        r += TOPIC_INTS
    for e in range(CLAUSED * n_entities):
        out_i[r] = entities[e]
        r += 1
    for s in range(CLAUSED * n_symptoms):
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


# Numba's cache keys a compiled function on its own file only (numba/numba#1833): the pieces
# inlined into `_score` and the layout constants it froze live in other files.
depend_on(_score, automaton, emotion, layout, selection)


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
        start = records_start(units.shape[0])
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
    _warmup_bag()
