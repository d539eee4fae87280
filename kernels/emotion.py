"""The emotion model: the kept matches' items, in text order, summed into valence, arousal and a label.

Negators flip the next word within their reach, in every sense it has (no clause break and no
就 in between: "再不X就Y"), intensifiers and diminishers scale it, contrast words damp what came before and
weight what follows; vocabulary words only win the match; escalation threats are anger no
conditional negator flips (the first one is returned); a complaint marker not negated adds
disappointment; either makes every neutral topic of the utterance a complaint; entities and
symptoms are recorded with their sentence, so only those of one sentence combine. Valence, arousal,
polarity, label and intensity then come from the summed evidence, the "!" and "?" counted by
the scan and the other surface cues the caller measured.
"""

from numba import njit

from kernels.layout import (
    ANGER,
    ANGRY,
    ANXIETY,
    ANXIOUS,
    C_CATEGORY,
    C_CLAUSE,
    CALM,
    CLAUSED,
    COMPLAINT,
    CONTRAST,
    DISAPP,
    DISAPPOINTED,
    EMOTION,
    ENTITY,
    ESCALATE,
    F_AROUSAL,
    F_WEIGHT,
    FITEM,
    GRAT,
    GRATEFUL,
    HAPPY,
    HD_ITEMS,
    HD_KEYS,
    I_CATEGORY,
    I_CODE,
    I_FLIPPED,
    I_POLARITY,
    I_SIGN,
    I_SLOT,
    INT,
    ITEM,
    JOY,
    K_CHARS,
    K_ITEM_HI,
    K_ITEM_LO,
    KEY,
    M_END,
    M_ITEM,
    M_NEGATED,
    M_START,
    MARK,
    MATCH,
    NEG,
    NEGATIVE,
    P_ANGRY_AROUSAL,
    P_AROUSAL_BASE,
    P_AROUSAL_TERMS_CAP,
    P_CONTRAST_BEFORE,
    P_DEAD_ZONE,
    P_EXCLAMATION_BOOST,
    P_EXCLAMATION_CAP,
    P_HAPPY_AROUSAL,
    P_INTENSITY_AROUSAL,
    P_INTENSITY_VALENCE,
    P_NEGATED_INTENSIFIER,
    P_NEGATED_NEGATIVE,
    P_NEGATIVE_GAIN,
    P_QUESTION_BOOST,
    P_QUESTION_CAP,
    P_TOPIC_VALENCE,
    P_VALENCE_SOFTNESS,
    PARAMS,
    POSITIVE,
    SAD,
    SADNESS,
    SATIS,
    SATISFIED,
    TOPIC,
    WORD,
)


@njit(cache=True, nogil=True)
def is_break(unit):
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
def ends_sentence(units, j):
    """True when units[j] ends a sentence (after NFKC): 。 ! ? ; a newline, or a "." before a
    space, a newline or the end. Commas and colons do not: "APP一打开就闪退，根本没法用" is
    one complaint about one thing."""
    unit = units[j]
    if unit == 0x3002 or unit == 33 or unit == 63 or unit == 59 or unit == 10:
        return True
    if unit != 46:
        return False
    return j + 1 == units.shape[0] or units[j + 1] == 32 or units[j + 1] == 10


@njit(cache=True, nogil=True)
def _modifier_reaches(units, lo, hi):
    """True when no clause break stands in units[lo:hi] between a modifier and a term."""
    for u in range(lo, hi):
        if is_break(units[u]):
            return False
    return True


@njit(cache=True, nogil=True)
def _negator_reaches(units, lo, hi):
    """True when no clause break, and no 就, stands in units[lo:hi] between a negator and a term:
    就 starts the consequence of a condition, so in "再不X就Y" the 不 is X's, never Y's."""
    for u in range(lo, hi):
        if is_break(units[u]) or units[u] == 0x5C31:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def read_items(
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
):
    """Run the model over the items of kept matches 1..m-1 (`kernels.selection.select`).

    Writes a match record per item into ``out_i``/``out_f`` when ``with_matches``, the topics
    (category, polarity, weight) and the entities and symptoms (category id, sentence index:
    ``CLAUSED`` ints each) into their arrays, and sums the emotion evidence into ``buckets``
    (float64[9], zeroed by the caller).

    Returns
    -------
    (val, neg_val, aro, escalation, complained, n_emit, n_topics, n_entities, n_symptoms):
    positive and negative valence evidence, arousal evidence, the item row of the first
    escalation threat (-1: none), whether a complaint marker or threat was said, the counts.
    """
    keys = table[HD_KEYS]
    items = table[HD_ITEMS]
    fitems = len(PARAMS)
    negated_negative = floats[P_NEGATED_NEGATIVE]
    negated_intensifier = floats[P_NEGATED_INTENSIFIER]
    contrast_before = floats[P_CONTRAST_BEFORE]
    topic_valence = floats[P_TOPIC_VALENCE]
    n_emit = n_topics = n_entities = n_symptoms = 0
    val = 0.0  # positive valence evidence
    neg_val = 0.0  # negative valence evidence
    aro = 0.0
    # The pending negator and modifier: multiplier (0: none), end (characters and code units),
    # reach in characters; the contrast multiplier for what follows.
    neg = 0.0
    mod = 0.0
    neg_end = mod_end = neg_win = mod_win = 0
    neg_end_u = mod_end_u = 0
    mod_int = False
    cmul = 1.0
    escalation = -1
    complained = False
    sentence = 0  # sentences ended before unit `scanned`
    scanned = 0
    # The per-item arithmetic is written out here, not in helpers: an array handed to a helper
    # inside this loop costs reference counting per item (measured 30-40% of the kernel).
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
        # A negator or modifier scopes every sense of the word after it ("一点都不新鲜": the
        # emotion and the praise topic of 新鲜); it is used up once the key's terms have read it.
        used = False
        for it in range(table[key + K_ITEM_LO], table[key + K_ITEM_HI]):
            row = items + ITEM * it
            frow = fitems + FITEM * it
            code = table[row + I_CODE]
            if code == WORD:  # wins the match, adds nothing ("更改" hides the "更")
                continue
            sign = table[row + I_SIGN]
            slot = table[row + I_SLOT]
            weight = floats[frow + F_WEIGHT]
            negated = False
            if code == ESCALATE:
                # A threat is anger that a conditional negation never flips: the 不 of
                # "再不处理我要投诉" belongs to the condition. Only a negator right before it
                # (half the usual reach, no 就) denies it: "我不会投诉到消协". The negator
                # stays pending for the key's other items ("cancel my account" is also an
                # anger term): threats come first in a key.
                if neg != 0.0:
                    negated = (
                        _negator_reaches(units, neg_end_u, start_u)
                        and start - neg_end <= neg_win // 2
                    )
                shown = weight * cmul
                if not negated:
                    neg_val += shown
                    buckets[ANGER] += shown
                    aro += shown * floats[frow + F_AROUSAL]
                    if escalation < 0:
                        escalation = it
                    complained = True  # a threat complains about what the text names
            elif code == MARK:  # a complaint marker ("要求核实"), unless negated ("没有投诉")
                if neg != 0.0:
                    negated = (
                        _negator_reaches(units, neg_end_u, start_u) and start - neg_end <= neg_win
                    )
                    neg = 0.0
                shown = weight * cmul
                if not negated:
                    complained = True
                    contribution = shown * topic_valence
                    neg_val += contribution
                    buckets[DISAPP] += contribution
            elif code >= NEG:  # a modifier: its own multiplier is shown
                shown = weight
                if used:  # the key's terms came first (modifiers come last in a key)
                    neg = 0.0
                    mod = 0.0
                    used = False
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
            else:  # a term: emotion, topic, entity or symptom, under the pending scopes
                factor = cmul
                if neg != 0.0:
                    if _negator_reaches(units, neg_end_u, start_u) and start - neg_end <= neg_win:
                        factor *= neg
                        negated = True
                        if sign < 0:
                            factor *= negated_negative
                    used = True
                if mod != 0.0:
                    if _modifier_reaches(units, mod_end_u, start_u) and start - mod_end <= mod_win:
                        factor *= negated_intensifier if (negated and mod_int) else mod
                    used = True
                eff = weight * factor
                shown = eff if eff >= 0 else -eff
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
                    if sign != 0:  # complaint -1, praise +1, times the term's weight
                        contribution = eff * topic_valence
                        if sign * contribution > 0:
                            val += contribution if contribution > 0 else -contribution
                        else:
                            neg_val += contribution if contribution > 0 else -contribution
                        if eff > 0:
                            buckets[slot] += contribution
                        elif sign > 0:
                            buckets[DISAPP] -= contribution
                    # the highest weight gives the topic's reading, a complaint on ties
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
                elif code == ENTITY or not negated:  # "没有黑屏" denies the symptom
                    while scanned < start_u:  # entity and symptom pair up within a sentence
                        if ends_sentence(units, scanned):
                            sentence += 1
                        scanned += 1
                    if code == ENTITY:
                        entities[CLAUSED * n_entities + C_CATEGORY] = table[row + I_CATEGORY]
                        entities[CLAUSED * n_entities + C_CLAUSE] = sentence
                        n_entities += 1
                    else:
                        symptoms[CLAUSED * n_symptoms + C_CATEGORY] = table[row + I_CATEGORY]
                        symptoms[CLAUSED * n_symptoms + C_CLAUSE] = sentence
                        n_symptoms += 1
            if with_matches:
                r = MATCH * n_emit
                out_i[r + M_ITEM] = it
                out_i[r + M_START] = start
                out_i[r + M_END] = end
                out_i[r + M_NEGATED] = negated
                out_f[n_emit] = shown
                n_emit += 1
        if used:
            neg = 0.0
            mod = 0.0
    return val, neg_val, aro, escalation, complained, n_emit, n_topics, n_entities, n_symptoms


@njit(cache=True, nogil=True, inline="always")
def _negative_label(buckets, arousal, angry_arousal):
    """The label of a negative utterance: its dominant bucket; on ties the first compared wins
    (anger before anxiety, ...); strong arousal without anger words still reads as anger."""
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
        return ANGRY
    if top == ANXIETY:
        return ANXIOUS
    if arousal >= angry_arousal:
        return ANGRY
    if top == SAD:
        return SADNESS
    return DISAPPOINTED


@njit(cache=True, nogil=True, inline="always")
def _positive_label(buckets, arousal, happy_arousal):
    """The label of a positive utterance: its dominant bucket (generic praise said with high
    arousal is HAPPY)."""
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
        return GRATEFUL
    if top == JOY or (top == POSITIVE and arousal >= happy_arousal):
        return HAPPY
    return SATISFIED


@njit(cache=True, nogil=True, inline="always")
def emotion(floats, val, neg_val, aro, buckets, bangs, questions, cue):
    """(label, polarity, intensity, valence, arousal) from the evidence `read_items` summed.

    "!" and "?" count up to their caps, then the cues the caller measured (``cue``), summed in
    this order as server.scoring.surface_cues sums them.
    """
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
        label = _negative_label(buckets, arousal, floats[P_ANGRY_AROUSAL])
    elif valence >= dz:
        polarity = 1
        label = _positive_label(buckets, arousal, floats[P_HAPPY_AROUSAL])
    else:
        polarity = 0
        label = CALM
    intensity = 0.0
    if polarity != 0:
        size = valence if valence > 0.0 else -valence
        intensity = floats[P_INTENSITY_VALENCE] * size + floats[P_INTENSITY_AROUSAL] * arousal
        if intensity > 1.0:
            intensity = 1.0
    return label, polarity, intensity, valence, arousal
