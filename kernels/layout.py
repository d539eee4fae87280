"""The utterance kernel's tables and output, laid out once for the kernel and its decoder.

`kernels.utterance` compiles against these constants and `server.scoring` decodes with them, so
a change here reaches both sides (Numba freezes module globals at compile time: the compiled
pieces see a change here through `kernels._cache.depend_on`).

Input tables (one row per item, key, node; `UtteranceKernel` checks them):

``items_i`` int32[n_items, ITEM]
    columns ``I_*``: item code (``EMOTION`` ... ``MARK``), sign (-1, 0, 1), slot (an emotion
    bucket, or a modifier's reach in characters), category id, topic polarity and polarity when
    negated (``NEUTRAL``, ``COMPLAINT``, ``PRAISE``).
``items_f`` float64[n_items, FITEM]
    columns ``F_*``: weight (a modifier's multiplier) and the bucket's arousal (emotions).
``keys`` int32[n_keys, KEY]
    columns ``K_*``: length in code units, length in characters, bounded bits (1: needs a word
    boundary before, 2: after), first and past-last item row.
automaton ``nodes`` int32[n_nodes, NODE], ``edges`` int32[n_edges, EDGE]
    columns ``N_*`` (see `kernels.automaton.Automaton`).

Output of one call (`UtteranceKernel.score`): the scalars named by ``R_*``; the int records,
``MATCH`` ints per match (columns ``M_*``, character offsets), then ``TOPIC_INTS`` per topic
(``T_CATEGORY``, ``T_POLARITY``) in first-seen order, then ``CLAUSED`` ints per entity and per
symptom (``C_CATEGORY``, ``C_CLAUSE``: its category id and the index of its sentence, see
`kernels.emotion.ends_sentence`); the float records, a weight per match, then a score per topic.
"""

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
# Row widths of nodes, edges, keys, items_i and items_f.
NODE, EDGE, KEY, ITEM, FITEM = 5, 2, 5, 6, 2

#: Topic polarity codes (``I_POLARITY`` / ``I_FLIPPED``), named by `POLARITIES`.
POLARITIES = ("neutral", "complaint", "praise")
NEUTRAL, COMPLAINT, PRAISE = range(len(POLARITIES))
#: Emotion buckets (``I_SLOT`` of an emotion item), named as server.lexicon.EMOTIONS names them.
BUCKETS = (
    "anger",
    "anxiety",
    "disappointment",
    "sadness",
    "satisfaction",
    "joy",
    "gratitude",
    "negative",
    "positive",
)
ANGER, ANXIETY, DISAPP, SAD, SATIS, JOY, GRAT, NEGATIVE, POSITIVE = range(len(BUCKETS))
#: Emotion labels (``R_LABEL``).
LABELS = ("CALM", "ANGRY", "ANXIOUS", "DISAPPOINTED", "SAD", "SATISFIED", "HAPPY", "GRATEFUL")
CALM, ANGRY, ANXIOUS, DISAPPOINTED, SADNESS, SATISFIED, HAPPY, GRATEFUL = range(len(LABELS))

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

#: The scalars one call returns, in order (``R_END`` < 0: the buffer is too small).
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
#: Int records: per match (item row, start, end, negated), per topic, per entity and symptom.
M_ITEM, M_START, M_END, M_NEGATED = range(4)
MATCH = 4
T_CATEGORY, T_POLARITY = range(2)
TOPIC_INTS = 2
C_CATEGORY, C_CLAUSE = range(2)
CLAUSED = 2

# The packed int table (`kernels.automaton.pack`): a header of offsets (``HD_*``), then the
# root's 65536 children from ``ROOT``, then nodes, edges, keys and items row by row. The float
# table holds the params, then a row of items_f per item.
HD_NODES, HD_EDGES, HD_KEYS, HD_ITEMS = range(4)
ROOT = 8


def records_start(n_units: int) -> int:
    """Index in the output buffer of the first int record, for a text of ``n_units`` code units
    (the kept-match rows come first)."""
    return 3 * (n_units + 2)


#: `records_start` for compiled callers.
records_start_jit = njit(cache=True, nogil=True, inline="always")(records_start)
