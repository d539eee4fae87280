"""The pure-Python utterance analyzer on pyahocorasick: the reference for the compiled kernel.

This is the implementation `server.scoring.Analyzer` had before its hot loop moved into
`kernels.utterance`: pyahocorasick's C scan over UTF-16-BE code units viewed as latin-1
characters, then selection and the emotion model in Python. It is kept, unchanged in meaning,
so tests can hold the kernel to the same answers on any text (tests/test_utterance_kernel.py);
normalisation and surface cues, which did not move, are shared with the Analyzer.
"""
# ruff: noqa: E501

from __future__ import annotations

import codecs
import re
from bisect import bisect_left

import ahocorasick

from server.lexicon import EMOTIONS, Lexicon
from server.scoring import (
    Analysis,
    Emotion,
    EmotionParams,
    Match,
    TopicScore,
    Typing,
    Voice,
    _combo_topics,
    normalise,
    surface_cues,
)

# Automaton item codes; emotion buckets follow server.lexicon.EMOTIONS order.
# Term codes first, then modifiers, then signals (a vocabulary word, an escalation threat, a
# complaint marker): `_NEG <= code <= _CONTRAST` tells a modifier.
_EMOTION, _TOPIC, _ENTITY, _SYMPTOM, _NEG, _INT, _DIM, _CONTRAST = range(8)
_VOCAB_WORD, _ESCALATE, _MARK = range(8, 11)
_MOD_CODES = {"negator": _NEG, "intensifier": _INT, "diminisher": _DIM, "contrast": _CONTRAST}
_BUCKETS = EMOTIONS  # one accumulator per emotion category, in this order
_ANGER, _ANXIETY, _DISAPP, _SAD, _SATIS, _JOY, _GRAT, _NEGATIVE, _POSITIVE = range(9)
_NEGATIVE_BUCKETS = frozenset((_ANGER, _ANXIETY, _DISAPP, _SAD, _NEGATIVE))
_POLARITY_SIGN = {"complaint": -1, "praise": 1, "neutral": 0}
_FLIPPED_POLARITY = {"complaint": "neutral", "praise": "complaint", "neutral": "neutral"}
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_WORD_UNITS = frozenset("\0" + c for c in _WORD)  # the same characters as UTF-16-BE units
# Clause breaks after NFKC (full-width ，！？；： become ASCII); 。 and … have no ASCII form.
_BREAKS = frozenset(",.!?;:。…\n")
_NEG_BREAKS = _BREAKS | {"就"}  # 就 starts the consequence of a condition ("再不X就Y")
# Sentence ends: entities and symptoms pair up only within a sentence. Commas do not end one.
_SENTENCE_END = re.compile(r"[。!?;\n]|\.(?=[ \n]|$)")
_utf16_be = codecs.utf_16_be_encode
_utf16_be_decode = codecs.utf_16_be_decode
_tuple_new = tuple.__new__


class ReferenceAnalyzer:
    """Scores utterances against one lexicon; immutable after construction, safe across threads.

    The automaton runs over the UTF-16-BE code units of the text viewed as latin-1 characters.
    pyahocorasick finds a child by a linear scan of the node's children, so a Chinese lexicon
    with ~3,000 distinct first characters costs ~0.4 us per input character at the root; as
    byte pairs every node has at most 256 children (4-5x faster on a 35k-term lexicon), and a
    character offset is the unit offset / 2 (unless the text has astral characters, e.g. emoji).

    The scan itself is cheap (3-5 us per 100 Chinese characters); what costs is the Python run
    for each of the ~33 hits per 100 characters, so each automaton value is a flat tuple of what
    that code needs, `(key units - 1, bits, item)`: bits 1 and 2 ask for a word boundary
    before and after, bit 4 says the key has several items (the same word as, say, a topic
    and an emotion) and `item` is then a tuple of them. An item is
    `(code, sign, weight, slot, extra, surface, kind, category)`: `slot` is the emotion bucket
    (emotions, topics) or the reach in characters (negators, intensifiers, diminishers); `extra`
    is the bucket's arousal (emotions) or `(polarity, polarity when negated)` (topics).
    """

    def __init__(self, lexicon: Lexicon, params: EmotionParams | None = None) -> None:
        self.lexicon = lexicon
        self.params = params = params or EmotionParams()
        arousal = [getattr(params, f"arousal_{name}") for name in _BUCKETS]
        by_key: dict[str, list[tuple]] = {}
        seen: set[tuple[str, int, str]] = set()
        for entry in lexicon.terms:
            if entry.kind == "topic":
                sign = _POLARITY_SIGN[entry.polarity]
                bucket = _DISAPP if sign < 0 else (_SATIS if sign > 0 else -1)
                code, extra = _TOPIC, (entry.polarity, _FLIPPED_POLARITY[entry.polarity])
            elif entry.kind == "emotion":
                bucket = _BUCKETS.index(entry.category)
                sign = -1 if bucket in _NEGATIVE_BUCKETS else 1
                code, extra = _EMOTION, arousal[bucket]
            elif entry.kind == "modifier":
                code, sign, bucket, extra = _MOD_CODES[entry.category], 0, -1, None
            elif entry.kind == "word":
                code, sign, bucket, extra = _VOCAB_WORD, 0, -1, None
            elif entry.kind == "escalation":
                code, sign, bucket, extra = _ESCALATE, -1, _ANGER, params.arousal_anger
            elif entry.kind == "complaint":
                code, sign, bucket, extra = _MARK, -1, _DISAPP, None
            else:
                code = _ENTITY if entry.kind == "entity" else _SYMPTOM
                sign, bucket, extra = 0, -1, None
            weight = entry.weight
            if code == _NEG:
                weight *= params.negation_factor
            for surface in (entry.term, *entry.variants):
                if (surface, code, entry.category) in seen:  # same word in zh and en: once
                    continue
                seen.add((surface, code, entry.category))
                slot = bucket
                if code == _NEG or code == _INT or code == _DIM:
                    # English needs room for the words in between ("not at all happy").
                    english = surface[0] in _WORD
                    if code == _NEG:
                        slot = params.negation_window_en if english else params.negation_window
                    else:
                        slot = params.modifier_window_en if english else params.modifier_window
                item = (code, sign, weight, slot, extra, surface, entry.kind, entry.category)
                by_key.setdefault(surface, []).append(item)
        automaton = ahocorasick.Automaton()
        # Sorted insertion puts the 0x00 high byte (ASCII) first among the root's children.
        for surface in sorted(by_key):
            items = by_key[surface]
            # Modifiers last, so a key that is also a sentiment term never modifies itself.
            items.sort(key=lambda it: 2 if _NEG <= it[0] <= _CONTRAST else it[0] != _ESCALATE)
            key = surface.encode("utf-16-be", "surrogatepass").decode("latin-1")
            bounded = (surface[0] in _WORD) | (surface[-1] in _WORD) << 1
            if len(items) > 1:
                payload, bounded = tuple(items), bounded | 4
            else:
                payload = items[0]
            automaton.add_word(key, (len(key) - 1, bounded, payload))
        if len(automaton):
            automaton.make_automaton()
            self._iter = automaton.iter
        else:
            self._iter = lambda _text: ()
        self._automaton = automaton
        self._calm = Emotion("CALM", 0.0, 0.0, params.arousal_base)
        self._empty = Analysis((), (), self._calm, (), 0)
        self._combos = lexicon.combos

    def analyze(
        self,
        text: str,
        typing: Typing | None = None,
        voice: Voice | None = None,
        *,
        with_matches: bool = True,
    ) -> Analysis:
        """Scores one utterance.

        `with_matches=False` returns `matches=()` and every other field unchanged, for callers
        that read only topics, emotion, combos and polarity (feedback, report tags): it saves
        building a Match per term found (~20% of the time of Chinese text).
        """
        if not text and typing is None and voice is None:
            return self._empty
        cased, norm = normalise(text)
        # The codec function itself: str.encode("utf-16-be") looks the codec up by name first.
        units = _utf16_be(norm, "surrogatepass")[0].decode("latin-1")
        # Leftmost-longest, non-overlapping, in one pass, in code units (first..last inclusive):
        # iter() reports matches by end (at one end, longest first). The newest kept match, the
        # top, is held in locals: a match starting inside it loses (most losers, checked first,
        # e.g. "满意" after "不满意"); one starting at the same unit covers it and replaces it
        # (e.g. "不满意" after "不": the other common case, three stores); one starting earlier
        # covers it and replaces the kept matches starting at or after its own start too,
        # unless an earlier kept match overlaps it. A match starting at an odd unit straddles
        # two characters; a word-bounded key needs no ASCII letter or digit ("\0x" as units)
        # next to it. (pyahocorasick's iter_long misses matches reached through failure links:
        # issues #133/#185/#224; tests compare this with a naive reference.)
        # The list holds the kept matches below the top in characters (unit / 2), starting with
        # the initial top, a sentinel that ends before any match.
        kept: list[tuple[int, int, tuple]] = []
        keep = kept.append
        top_first = top_last = -1
        top_payload: tuple = ()
        several = False  # some kept key has several items (e.g. both topic and emotion)
        word_units = _WORD_UNITS
        for last, (k1, bounded, payload) in self._iter(units):
            first = last - k1
            if first > top_first:
                if first <= top_last:
                    continue
                if first & 1:
                    continue
                if bounded:  # the same three tests as below
                    if bounded & 1 and units[first - 2 : first] in word_units:
                        continue
                    if bounded & 2 and units[last + 1 : last + 3] in word_units:
                        continue
                    if bounded & 4:
                        several = True
                keep((top_first >> 1, (top_last >> 1) + 1, top_payload))
            else:
                if first & 1:
                    continue
                if bounded:
                    if bounded & 1 and units[first - 2 : first] in word_units:
                        continue
                    if bounded & 2 and units[last + 1 : last + 3] in word_units:
                        continue
                    if bounded & 4:
                        several = True
                if first != top_first:
                    start = first >> 1
                    i = len(kept) - 1
                    while kept[i][0] >= start:  # the sentinel starts at -1: stops there
                        i -= 1
                    if kept[i][1] > start:
                        continue
                    del kept[i + 1 :]
            top_first = first
            top_last = last
            top_payload = payload
        if top_first < 0:  # nothing kept
            if typing is None and voice is None and cased == norm:
                if "!" not in norm and "?" not in norm:
                    return self._empty
            kept = []
        else:
            keep((top_first >> 1, (top_last >> 1) + 1, top_payload))
            del kept[0]
            if several:
                kept = [
                    (start, end, item)
                    for start, end, payload in kept
                    for item in (payload if type(payload[0]) is tuple else (payload,))
                ]
            if len(units) != len(norm) << 1:
                # Astral characters (emoji) take two units: count the characters before.
                decode = _utf16_be_decode
                for j, (half, _end, item) in enumerate(kept):
                    start = len(decode(units[: half << 1].encode("latin-1"), "surrogatepass")[0])
                    kept[j] = (start, start + len(item[5]), item)
        p = self.params
        new = _tuple_new
        matches: list[Match] = []
        emit = matches.append
        val = neg_val = aro = 0.0  # positive and negative evidence, kept apart for the bias
        buckets = [0.0] * 9
        neg = mod = 0.0
        neg_end = mod_end = neg_win = mod_win = 0
        mod_int = False
        cmul = 1.0
        topics: dict[str, tuple[float, str]] | None = None
        entities: list[str] | None = None
        symptoms: list[str] | None = None
        escalation = ""
        complained = False
        used_at = -1  # start of the word whose senses read the pending negator and modifier
        for start, end, (code, sign, weight, slot, extra, surface, kind, category) in kept:
            if used_at >= 0 and (start != used_at or _NEG <= code <= _CONTRAST):
                neg = mod = 0.0
                used_at = -1
            if code == _VOCAB_WORD:
                continue
            if code == _ESCALATE or code == _MARK:
                negated = False
                eff = weight * cmul
                if code == _ESCALATE:  # only a negator right before it denies it
                    if neg:
                        negated = start - neg_end <= neg_win // 2 and _NEG_BREAKS.isdisjoint(
                            norm[neg_end:start]
                        )
                    if not negated:
                        neg_val += eff
                        buckets[_ANGER] += eff
                        aro += eff * extra
                        escalation = escalation or surface
                        complained = True
                else:
                    if neg:
                        negated = start - neg_end <= neg_win and _NEG_BREAKS.isdisjoint(
                            norm[neg_end:start]
                        )
                        neg = 0.0
                    if not negated:
                        complained = True
                        neg_val += eff * p.topic_valence
                        buckets[_DISAPP] += eff * p.topic_valence
                if with_matches:
                    emit(new(Match, (surface, kind, category, start, end, negated, eff)))
                continue
            if code >= _NEG:
                if code == _NEG:
                    if neg and start - neg_end <= neg_win:
                        neg *= weight  # "不是不" double negation
                    else:
                        neg = weight
                    neg_end = end
                    neg_win = slot
                elif code == _CONTRAST:
                    cb = p.contrast_before
                    val *= cb
                    neg_val *= cb
                    aro *= cb
                    buckets = [b * cb for b in buckets]
                    cmul = weight
                    neg = mod = 0.0
                else:
                    mod = weight
                    mod_int = code == _INT
                    mod_end = end
                    mod_win = slot
                if with_matches:
                    emit(new(Match, (surface, kind, category, start, end, False, weight)))
                continue
            negated = False
            if neg or mod:
                factor = cmul
                if neg:
                    if start - neg_end <= neg_win and _NEG_BREAKS.isdisjoint(norm[neg_end:start]):
                        factor *= neg
                        negated = True
                        if sign < 0:
                            factor *= p.negated_negative
                    used_at = start  # used up once this word's senses have read it
                if mod:
                    if start - mod_end <= mod_win and _BREAKS.isdisjoint(norm[mod_end:start]):
                        factor *= p.negated_intensifier if (negated and mod_int) else mod
                    used_at = start
                eff = weight * factor
            else:
                eff = weight * cmul
            if code == _EMOTION:
                if eff > 0:
                    if sign > 0:
                        val += eff
                    else:
                        neg_val += eff
                    buckets[slot] += eff
                    aro += eff * extra
                else:
                    if sign < 0:
                        val -= eff
                    else:
                        neg_val -= eff
                    if sign > 0:  # "不满意" from 不 + 满意: not satisfied is disappointed
                        buckets[_DISAPP] -= eff
                    else:
                        buckets[_POSITIVE] -= eff
            elif code == _TOPIC:
                if sign:
                    contribution = eff * p.topic_valence
                    if sign * contribution > 0:
                        val += contribution if contribution > 0 else -contribution
                    else:
                        neg_val += contribution if contribution > 0 else -contribution
                    if eff > 0:
                        buckets[slot] += contribution
                    elif sign > 0:
                        buckets[_DISAPP] -= contribution
                polarity = extra[negated]
                if topics is None:
                    topics = {category: (weight, polarity)}
                else:
                    seen = topics.get(category)
                    if (
                        seen is None
                        or weight > seen[0]
                        or (weight == seen[0] and polarity == "complaint")
                    ):
                        topics[category] = (weight, polarity)
            elif code == _ENTITY:
                if entities is None:
                    entities = []
                entities.append((category, start))
            elif not negated:  # "没有黑屏" denies the symptom: no combination
                if symptoms is None:
                    symptoms = []
                symptoms.append((category, start))
            if with_matches:
                if eff < 0:
                    eff = -eff
                emit(new(Match, (surface, kind, category, start, end, negated, eff)))

        cue = surface_cues(p, cased, norm, typing, voice)
        arousal = p.arousal_base + (aro if aro < p.arousal_terms_cap else p.arousal_terms_cap) + cue
        arousal = 0.0 if arousal < 0.0 else (1.0 if arousal > 1.0 else arousal)
        val -= neg_val * p.negative_gain
        if val:
            valence = val / ((val if val > 0.0 else -val) + p.valence_softness)
        else:
            valence = 0.0
        dz = p.dead_zone
        if valence <= -dz:
            polarity = -1
            # The dominant bucket; on ties the first compared wins (anger before anxiety, ...
            top, best = _ANGER, buckets[_ANGER]
            if buckets[_ANXIETY] > best:
                top, best = _ANXIETY, buckets[_ANXIETY]
            if buckets[_SAD] > best:
                top, best = _SAD, buckets[_SAD]
            if buckets[_DISAPP] > best:
                top, best = _DISAPP, buckets[_DISAPP]
            if buckets[_NEGATIVE] > best:
                top = _NEGATIVE
            if top == _ANGER and buckets[_ANGER] > 0.0:
                label = "ANGRY"
            elif top == _ANXIETY:
                label = "ANXIOUS"
            elif arousal >= p.angry_arousal:
                label = "ANGRY"
            elif top == _SAD:
                label = "SAD"
            else:
                label = "DISAPPOINTED"
        elif valence >= dz:
            polarity = 1
            top, best = _GRAT, buckets[_GRAT]
            if buckets[_JOY] > best:
                top, best = _JOY, buckets[_JOY]
            if buckets[_SATIS] > best:
                top, best = _SATIS, buckets[_SATIS]
            if buckets[_POSITIVE] > best:
                top = _POSITIVE
            if top == _GRAT:
                label = "GRATEFUL"
            elif top == _JOY or (top == _POSITIVE and arousal >= p.happy_arousal):
                label = "HAPPY"
            else:
                label = "SATISFIED"
        else:
            polarity = 0
            label = "CALM"
        if polarity:
            size = valence if valence > 0.0 else -valence
            intensity = p.intensity_valence * size + p.intensity_arousal * arousal
            emotion = new(Emotion, (label, intensity if intensity < 1.0 else 1.0, valence, arousal))
        else:
            emotion = new(Emotion, ("CALM", 0.0, valence, arousal))

        if topics is not None and complained:
            topics = {
                t: (sc, "complaint" if pol == "neutral" else pol) for t, (sc, pol) in topics.items()
            }
        if topics is None:
            topic_scores: tuple[TopicScore, ...] = ()
        elif len(topics) == 1:
            ((topic, (score, pol)),) = topics.items()
            topic_scores = (new(TopicScore, (topic, pol, score)),)
        else:
            ranked = sorted([(-sc, t, pol) for t, (sc, pol) in topics.items()])
            topic_scores = tuple([new(TopicScore, (t, pol, -sc)) for sc, t, pol in ranked])
        combos: tuple[str, ...] = ()
        if entities is not None and symptoms is not None:
            ends = [m.start() for m in _SENTENCE_END.finditer(norm)]
            pairs = sorted(
                {
                    (e, s)
                    for e, at in entities
                    for s, to in symptoms
                    if bisect_left(ends, at) == bisect_left(ends, to)
                }
            )
            if pairs:
                combos = tuple([f"{e}+{s}" for e, s in pairs])
                if self._combos:
                    topic_scores = _combo_topics(self._combos, pairs, topic_scores)
        return new(Analysis, (tuple(matches), topic_scores, emotion, combos, polarity, escalation))
