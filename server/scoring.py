"""Utterance scoring: Aho-Corasick lexicon matching plus a small valence/arousal emotion model."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick

from server.lexicon import Lexicon

LABELS = ("CALM", "ANGRY", "ANXIOUS", "DISAPPOINTED", "SAD", "SATISFIED", "HAPPY", "GRATEFUL")

# The per-call results (Match, TopicScore, Emotion, Analysis) are NamedTuples, not frozen slots
# dataclasses: equally immutable with the same attribute access, but built with tuple.__new__ in
# ~0.1 us where a frozen dataclass __init__ costs ~1.3 us on this machine, and an utterance yields
# up to a dozen of them inside a 20 us budget.


class Match(NamedTuple):
    """One lexicon term found in the normalised text.

    `term` is the surface form matched (NFKC+casefolded, traditional if the text was);
    `start`/`end` are character offsets into the normalised text (NFKC+casefold of the input,
    which equals the input for lower-case ASCII and for most Chinese); `weight` is the lexicon
    weight times any intensifier/diminisher/negation/contrast scaling, always >= 0 (whether the
    sense was flipped is `negated`).
    """

    term: str
    kind: str  # topic | emotion | modifier | entity | symptom
    category: str  # topic id, emotion, modifier kind, entity id or symptom id
    start: int
    end: int
    negated: bool
    weight: float


class TopicScore(NamedTuple):
    topic: str
    polarity: str  # complaint | praise | neutral
    score: float  # highest term weight seen for the topic, 0..1


class Emotion(NamedTuple):
    label: str  # one of LABELS
    intensity: float  # 0..1 (0 for CALM)
    valence: float  # -1..1
    arousal: float  # 0..1


@dataclass(frozen=True, slots=True)
class Typing:
    """Chat typing telemetry of one message; zeros mean not supplied."""

    chars: int = 0
    elapsed_ms: int = 0
    deletions: int = 0


@dataclass(frozen=True, slots=True)
class Voice:
    """ASR voice features; 0 means not supplied.

    speech_rate in syllables/s; pitch_delta in semitones relative to the speaker's own baseline;
    energy_db in dB relative to the speaker's baseline.
    """

    speech_rate: float = 0.0
    pitch_delta: float = 0.0
    energy_db: float = 0.0


class Analysis(NamedTuple):
    matches: tuple[Match, ...]
    topics: tuple[TopicScore, ...]  # highest score first
    emotion: Emotion
    combos: tuple[str, ...]  # sorted "entity+symptom" pairs found in the utterance
    polarity: int  # -1, 0, 1: sign of valence outside params.dead_zone


@dataclass(frozen=True, slots=True)
class EmotionParams:
    """Every weight of the emotion model; filled from the [emotion] config table."""

    # Negation: a negator ending at most this many characters before a term (same clause) flips
    # it by the negator's lexicon weight. Chinese negators sit next to the word ("不是很满意": 2);
    # English needs room for auxiliaries ("not at all happy": 8).
    negation_window: int = 4
    negation_window_en: int = 12  # used when the negator is ASCII
    negation_factor: float = 1.0  # scales every negator's lexicon weight (0.8: softer negation)
    negated_negative: float = 0.6  # "不生气"/"not bad": a denied negative is a weaker positive
    negated_intensifier: float = 0.5  # "不是很满意": an intensifier under negation weakens instead
    # Intensifiers/diminishers scale the next term at most this many characters after them.
    modifier_window: int = 3
    modifier_window_en: int = 10
    # Contrast ("但是", "but"): terms after it get the word's weight, terms before this factor.
    contrast_before: float = 0.5
    # Topic terms feed valence: complaint -1, praise +1, times term weight times this.
    topic_valence: float = 0.6
    # Negativity bias: customers wrap complaints in politeness ("还可以，但是..."), so negative
    # evidence counts this much more than positive (tuned on the DEV half of bench.polarity).
    negative_gain: float = 1.3
    # valence = v / (|v| + valence_softness) squashes the summed evidence into (-1, 1).
    valence_softness: float = 0.6
    dead_zone: float = 0.05  # |valence| below this: polarity 0 and label CALM (DEV-tuned)
    # Arousal: base + min(sum of term weight * category arousal, arousal_terms_cap) + cues.
    arousal_base: float = 0.15
    arousal_terms_cap: float = 0.6
    arousal_anger: float = 0.8
    arousal_anxiety: float = 0.6
    arousal_disappointment: float = 0.3
    arousal_sadness: float = 0.1
    arousal_satisfaction: float = 0.2
    arousal_joy: float = 0.5
    arousal_gratitude: float = 0.2
    arousal_negative: float = 0.3
    arousal_positive: float = 0.2
    # Surface cues: per "!"/"！" and "?"/"？" (counted up to the cap), per ALL-CAPS English word.
    exclamation_boost: float = 0.12
    exclamation_cap: int = 3
    question_boost: float = 0.04
    question_cap: int = 3
    caps_boost: float = 0.1
    caps_cap: int = 3
    caps_min_len: int = 3  # shorter all-caps words ("OK", "TV") are not shouting
    # Typing faster than the reference (chars/s) raises arousal, up to typing_gain at 2x speed;
    # deletions (hesitation, rewording) add up to typing_deletion_gain at one per typed char.
    typing_ref_cps: float = 4.0
    typing_gain: float = 0.2
    typing_deletion_gain: float = 0.1
    # Voice: each feature relative to its reference, clamped to [-1, 1], times its gain.
    voice_rate_ref: float = 4.5  # syllables/s of calm speech; excess is relative to this
    voice_rate_gain: float = 0.15
    voice_pitch_ref: float = 4.0  # semitones above baseline that count as fully raised
    voice_pitch_gain: float = 0.15
    voice_energy_ref: float = 6.0  # dB above baseline that count as fully loud
    voice_energy_gain: float = 0.15
    # Labels: negative valence with arousal at least this is ANGRY whatever the words were.
    angry_arousal: float = 0.7
    happy_arousal: float = 0.6  # generic positive with this arousal is HAPPY, not SATISFIED
    # intensity = min(1, intensity_valence * |valence| + intensity_arousal * arousal).
    intensity_valence: float = 0.6
    intensity_arousal: float = 0.4


# Automaton item codes; emotion buckets follow server.lexicon.EMOTIONS order.
_TOPIC, _EMOTION, _NEG, _INT, _DIM, _CONTRAST, _ENTITY, _SYMPTOM = range(8)
_MOD_CODES = {"negator": _NEG, "intensifier": _INT, "diminisher": _DIM, "contrast": _CONTRAST}
_BUCKETS = (
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
_ANGER, _ANXIETY, _DISAPP, _SAD, _SATIS, _JOY, _GRAT, _NEGATIVE, _POSITIVE = range(9)
_NEGATIVE_BUCKETS = frozenset((_ANGER, _ANXIETY, _DISAPP, _SAD, _NEGATIVE))
_POLARITY_SIGN = {"complaint": -1, "praise": 1, "neutral": 0}
_FLIPPED_POLARITY = {"complaint": "neutral", "praise": "complaint", "neutral": "neutral"}
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# Clause breaks after NFKC (full-width ，！？；： become ASCII); 。 and … have no ASCII form.
_BREAKS = frozenset(",.!?;:。…\n")
_CAPS_RE = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?![A-Za-z])")
_nfkc = unicodedata.normalize
_is_normalized = unicodedata.is_normalized
_tuple_new = tuple.__new__
# The compatibility characters common in Chinese text, with their NFKC forms (checked in tests).
_WIDE = tuple((wide, unicodedata.normalize("NFKC", wide)) for wide in "，。！？：；（）～…、．－＂")


def _clamp1(x: float) -> float:
    return -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)


class Analyzer:
    """Scores utterances against one lexicon; immutable after construction, safe across threads.

    The automaton runs over the UTF-16-BE code units of the text viewed as latin-1 characters.
    pyahocorasick finds a child by a linear scan of the node's children, so a Chinese lexicon
    with ~3,000 distinct first characters costs ~0.4 us per input character at the root; as
    byte pairs every node has at most 256 children (4-5x faster on a 35k-term lexicon), and a
    character offset is the unit offset / 2 (unless the text has astral characters, e.g. emoji).
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
                code, extra, ar = _TOPIC, entry.polarity, 0.0
            elif entry.kind == "emotion":
                bucket = _BUCKETS.index(entry.category)
                sign = -1 if bucket in _NEGATIVE_BUCKETS else 1
                code, extra, ar = _EMOTION, "", arousal[bucket]
            elif entry.kind == "modifier":
                code, extra, sign, bucket, ar = _MOD_CODES[entry.category], "", 0, -1, 0.0
            else:
                code = _ENTITY if entry.kind == "entity" else _SYMPTOM
                extra, sign, bucket, ar = "", 0, -1, 0.0
            weight = entry.weight
            if code == _NEG:
                weight *= params.negation_factor
            for surface in (entry.term, *entry.variants):
                if (surface, code, entry.category) in seen:  # same word in zh and en: once
                    continue
                seen.add((surface, code, entry.category))
                item = (code, surface, entry.kind, entry.category, weight, sign, bucket, ar, extra)
                by_key.setdefault(surface, []).append(item)
        automaton = ahocorasick.Automaton()
        # Sorted insertion puts the 0x00 high byte (ASCII) first among the root's children.
        for surface in sorted(by_key):
            items = by_key[surface]
            # Modifiers last, so a key that is also a sentiment term never modifies itself.
            items.sort(key=lambda it: it[0] in (_NEG, _INT, _DIM, _CONTRAST))
            key = surface.encode("utf-16-be", "surrogatepass").decode("latin-1")
            value = (
                len(key),
                surface[0] in _WORD,
                surface[-1] in _WORD,
                tuple(items),
                len(surface),
            )
            automaton.add_word(key, value)
        if len(automaton):
            automaton.make_automaton()
            self._iter = automaton.iter
        else:
            self._iter = lambda _text: ()
        self._automaton = automaton
        self._calm = Emotion("CALM", 0.0, 0.0, params.arousal_base)
        self._empty = Analysis((), (), self._calm, (), 0)

    def analyze(
        self, text: str, typing: Typing | None = None, voice: Voice | None = None
    ) -> Analysis:
        if not text and typing is None and voice is None:
            return self._empty
        p = self.params
        # Normalise to NFKC + casefold, paying only for what the text needs: ASCII is NFKC
        # already (lower() is its casefold); Chinese text is usually NFKC except for full-width
        # punctuation, replaced directly (full NFKC costs ~9 us per 100 such characters).
        if text.isascii():
            cased = text
            norm = text.lower()
        else:
            cased = text
            if not _is_normalized("NFKC", cased):
                cased = (
                    cased.replace("，", ",")
                    .replace("！", "!")
                    .replace("？", "?")
                    .replace("：", ":")
                    .replace("；", ";")
                    .replace("（", "(")
                    .replace("）", ")")
                    .replace("…", "...")
                )
                if not _is_normalized("NFKC", cased):
                    cased = _nfkc("NFKC", cased)
            norm = cased.casefold()
        units = norm.encode("utf-16-be", "surrogatepass").decode("latin-1")
        n = len(norm)
        astral = len(units) != n + n
        word = _WORD
        # Leftmost-longest, non-overlapping, in one pass: iter() reports matches by end
        # position; a match loses to a kept match that starts earlier and overlaps it, else it
        # replaces the kept matches starting at or after its own start (it covers them).
        # (pyahocorasick's iter_long misses matches reached through failure links: issues
        # #133/#185/#224; tests compare this with a naive leftmost-longest reference.)
        kept: list[tuple[int, int, tuple]] = []
        keep = kept.append
        for last, value in self._iter(units):
            first = last - value[0] + 1
            if first & 1:
                continue  # a byte pair straddling two characters
            if astral:
                start = len(units[:first].encode("latin-1").decode("utf-16-be", "surrogatepass"))
            else:
                start = first >> 1
            end = start + value[4]
            if value[1] and start and norm[start - 1] in word:
                continue
            if value[2] and end < n and norm[end] in word:
                continue
            if kept:
                top = kept[-1]
                if top[0] < start:
                    if top[1] > start:
                        continue
                else:
                    i = len(kept) - 2
                    while i >= 0 and kept[i][0] >= start:
                        i -= 1
                    if i >= 0 and kept[i][1] > start:
                        continue
                    del kept[i + 1 :]
            keep((start, end, value[3]))
        if not kept and typing is None and voice is None:
            if "!" not in norm and "?" not in norm and cased == norm:
                return self._empty
        new = _tuple_new
        matches = []
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
        breaks = _BREAKS
        for start, end, items in kept:
            for code, surface, kind, category, weight, sign, bucket, ar, extra in items:
                if code >= _NEG and code <= _CONTRAST:
                    if code == _NEG:
                        if neg and start - neg_end <= neg_win:
                            neg *= weight  # "不是不" double negation
                        else:
                            neg = weight
                        neg_end = end
                        neg_win = p.negation_window_en if surface[0] in word else p.negation_window
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
                        mod_win = p.modifier_window_en if surface[0] in word else p.modifier_window
                    emit(new(Match, (surface, kind, category, start, end, False, weight)))
                    continue
                factor = cmul
                negated = False
                if neg:
                    if start - neg_end <= neg_win and breaks.isdisjoint(norm[neg_end:start]):
                        factor *= neg
                        negated = True
                        if sign < 0:
                            factor *= p.negated_negative
                    neg = 0.0
                if mod:
                    if start - mod_end <= mod_win and breaks.isdisjoint(norm[mod_end:start]):
                        factor *= p.negated_intensifier if (negated and mod_int) else mod
                    mod = 0.0
                eff = weight * factor
                if code == _EMOTION:
                    if sign * eff > 0:
                        val += eff if eff > 0 else -eff
                    else:
                        neg_val += eff if eff > 0 else -eff
                    if eff > 0:
                        buckets[bucket] += eff
                        aro += eff * ar
                    elif sign > 0:  # "不满意" from 不 + 满意: not satisfied is disappointed
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
                            buckets[bucket] += contribution
                        elif sign > 0:
                            buckets[_DISAPP] -= contribution
                    polarity = _FLIPPED_POLARITY[extra] if negated else extra
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
                        entities = [category]
                    else:
                        entities.append(category)
                elif not negated:  # "没有黑屏" denies the symptom: no combination
                    if symptoms is None:
                        symptoms = [category]
                    else:
                        symptoms.append(category)
                emit(
                    new(
                        Match,
                        (surface, kind, category, start, end, negated, eff if eff > 0 else -eff),
                    )
                )

        # Surface cues.
        cue = 0.0
        if "!" in norm:
            count = norm.count("!")
            cue += p.exclamation_boost * (count if count < p.exclamation_cap else p.exclamation_cap)
        if "?" in norm:
            count = norm.count("?")
            cue += p.question_boost * (count if count < p.question_cap else p.question_cap)
        if cased != norm:  # some upper case: look for shouted words
            caps = 0
            for shouted in _CAPS_RE.findall(cased):
                if len(shouted) >= p.caps_min_len:
                    caps += 1
            if caps:
                cue += p.caps_boost * (caps if caps < p.caps_cap else p.caps_cap)
        if typing is not None and typing.elapsed_ms > 0 and typing.chars > 0:
            cps = typing.chars * 1000.0 / typing.elapsed_ms
            speed = cps / p.typing_ref_cps - 1.0
            cue += p.typing_gain * (0.0 if speed < 0.0 else (1.0 if speed > 1.0 else speed))
            deleted = typing.deletions / typing.chars
            cue += p.typing_deletion_gain * (deleted if deleted < 1.0 else 1.0)
        if voice is not None:
            if voice.speech_rate:
                cue += p.voice_rate_gain * _clamp1(voice.speech_rate / p.voice_rate_ref - 1.0)
            if voice.pitch_delta:
                cue += p.voice_pitch_gain * _clamp1(voice.pitch_delta / p.voice_pitch_ref)
            if voice.energy_db:
                cue += p.voice_energy_gain * _clamp1(voice.energy_db / p.voice_energy_ref)

        arousal = p.arousal_base + (aro if aro < p.arousal_terms_cap else p.arousal_terms_cap) + cue
        arousal = 0.0 if arousal < 0.0 else (1.0 if arousal > 1.0 else arousal)
        val -= neg_val * p.negative_gain
        valence = val / (abs(val) + p.valence_softness) if val else 0.0
        dz = p.dead_zone
        if valence <= -dz:
            polarity = -1
            top = max(_NEGATIVE_ORDER, key=buckets.__getitem__)
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
            top = max(_POSITIVE_ORDER, key=buckets.__getitem__)
            if top == _GRAT:
                label = "GRATEFUL"
            elif top == _JOY or (top == _POSITIVE and arousal >= p.happy_arousal):
                label = "HAPPY"
            else:
                label = "SATISFIED"
        else:
            polarity = 0
            label = "CALM"
        if label == "CALM":
            emotion = new(Emotion, ("CALM", 0.0, valence, arousal))
        else:
            intensity = p.intensity_valence * abs(valence) + p.intensity_arousal * arousal
            emotion = new(Emotion, (label, intensity if intensity < 1.0 else 1.0, valence, arousal))

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
            combos = tuple(sorted({f"{e}+{s}" for e in entities for s in symptoms}))
        return new(Analysis, (tuple(matches), topic_scores, emotion, combos, polarity))


# Tie order when picking the dominant emotion: the first listed wins.
_NEGATIVE_ORDER = (_ANGER, _ANXIETY, _SAD, _DISAPP, _NEGATIVE)
_POSITIVE_ORDER = (_GRAT, _JOY, _SATIS, _POSITIVE)
