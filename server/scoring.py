"""Utterance scoring: Aho-Corasick lexicon matching plus a small valence/arousal emotion model."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from kernels import layout as kl
from kernels import utterance as ku
from kernels.layout import (
    C_CATEGORY,
    C_CLAUSE,
    CLAUSED,
    M_END,
    M_ITEM,
    M_NEGATED,
    M_START,
    MATCH,
    R_AROUSAL,
    R_ENTITIES,
    R_ESCALATION,
    R_INTENSITY,
    R_KEPT,
    R_LABEL,
    R_MATCHES,
    R_POLARITY,
    R_SYMPTOMS,
    R_TOPICS,
    R_VALENCE,
    T_CATEGORY,
    T_POLARITY,
    TOPIC_INTS,
)
from server.emotion_model import dense_features, learned_models
from server.lexicon import POLARITY_BIAS, POLARITY_VALENCE, Lexicon

LABELS = kl.LABELS

# The per-call results (Match, TopicScore, Emotion, Analysis) are NamedTuples, not frozen slots
# dataclasses: equally immutable with the same attribute access, but built with tuple.__new__ in
# ~0.1 us where a frozen dataclass __init__ costs ~1.3 us on this machine, and an utterance yields
# up to a dozen of them inside a 20 us budget.


class Match(NamedTuple):
    """One lexicon term found in the normalised text.

    `term` is the surface form matched (NFKC+casefolded, traditional if the text was);
    `start`/`end` are character offsets into the normalised text (NFKC+casefold of the input,
    which equals the input for lower-case ASCII and for most Chinese). For a sentiment, topic,
    entity or symptom term `weight` is the lexicon weight times any intensifier, diminisher,
    negation and contrast scaling, always >= 0 (whether the sense was flipped is `negated`);
    for a modifier it is the modifier's own multiplier, as in its lexicon (negators are
    negative: -1 flips the next term, -0.5 half-flips it).
    """

    term: str
    kind: str  # topic | emotion | modifier | entity | symptom | escalation | complaint
    category: str  # topic id, emotion, modifier kind, entity id or symptom id; else the kind
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
    combos: tuple[str, ...]  # sorted "entity+symptom" pairs found in one sentence of it
    polarity: (
        int  # -1, 0, 1: sign of valence outside params.dead_zone (analyze_document: of its model)
    )
    # The first escalation threat said ("投诉到消协", "i'll report you"), "" when none; no
    # negator flips it ("再不处理我就投诉到消协").
    escalation: str = ""


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


# The kernel's codes for the lexicon's names (kernels.layout).
_MOD_CODES = {
    "negator": kl.NEG,
    "intensifier": kl.INT,
    "diminisher": kl.DIM,
    "contrast": kl.CONTRAST,
}
_BUCKET = {name: code for code, name in enumerate(kl.BUCKETS)}
_NEGATIVE_BUCKETS = frozenset((kl.ANGER, kl.ANXIETY, kl.DISAPP, kl.SAD, kl.NEGATIVE))
_POLARITY_SIGN = {"complaint": -1, "praise": 1, "neutral": 0}
_POLARITY_CODE = {name: code for code, name in enumerate(kl.POLARITIES)}
_POLARITY_NAME = kl.POLARITIES  # by code
_FLIPPED_POLARITY = {"complaint": "neutral", "praise": "complaint", "neutral": "neutral"}
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_CJK_RE = re.compile("[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")  # Han and kana
_CAPS_RE = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?![A-Za-z])")
# bytes.translate table: A-Z -> A, any other byte -> space.
_CAPITALS = bytes(65 if 65 <= c <= 90 else 32 for c in range(256))
_nfkc = unicodedata.normalize
_utf8 = codecs.utf_8_encode
_utf16 = codecs.lookup(ku.UTF16).encode  # the codec function: str.encode looks it up by name
_is_normalized = unicodedata.is_normalized
_frombuffer = np.frombuffer
_uint16 = np.uint16
_tuple_new = tuple.__new__
_NEGATED = (False, True)
# The kernel's scalars by their layout names, in the order `Analyzer.analyze` unpacks them.
_read_scalars = itemgetter(
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
)


def _clamp1(x: float) -> float:
    return -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)


def normalise(text: str) -> tuple[str, str]:
    """(text after NFKC, after NFKC + casefold), paying only for what the text needs.

    ASCII is NFKC already (lower() is its casefold); Chinese text is usually NFKC except for
    full-width punctuation, replaced directly (full NFKC costs ~9 us per 100 such characters).
    """
    if text.isascii():
        return text, text.lower()
    cased = text
    if not _is_normalized("NFKC", cased):
        cased = cased.replace("，", ",").replace("！", "!").replace("？", "?")
        if not _is_normalized("NFKC", cased):
            cased = (
                cased.replace("：", ":")
                .replace("；", ";")
                .replace("（", "(")
                .replace("）", ")")
                .replace("…", "...")
            )
            if not _is_normalized("NFKC", cased):
                cased = _nfkc("NFKC", cased)
    return cased, cased.casefold()


def surface_cues(
    p: EmotionParams, cased: str, norm: str, typing: Typing | None, voice: Voice | None
) -> float:
    """What "!"/"?", shouted words, typing speed and voice add to arousal.

    The kernel counts "!" and "?" itself and takes the rest from `other_cues`, summed in this
    order, so both give the same float.
    """
    bangs = norm.count("!")
    questions = norm.count("?")
    marks = p.exclamation_boost * (bangs if bangs < p.exclamation_cap else p.exclamation_cap)
    marks += p.question_boost * (questions if questions < p.question_cap else p.question_cap)
    return marks + other_cues(p, cased, norm, typing, voice)


def other_cues(
    p: EmotionParams, cased: str, norm: str, typing: Typing | None, voice: Voice | None
) -> float:
    """What shouted words, typing speed and voice add to arousal."""
    cue = 0.0
    if cased != norm and b"AA" in _utf8(cased, "surrogatepass")[0].translate(_CAPITALS):
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
    return cue


def _combo_topics(
    table: Mapping[tuple[str, str], tuple[str, float]],
    pairs: list[tuple[str, str]],
    found: tuple[TopicScore, ...],
) -> tuple[TopicScore, ...]:
    """`found` plus the complaint topic of each entity + symptom pair the table maps.

    An entity id is looked up whole, then by its shorter family prefixes ("feature.app",
    "feature"). A topic the words already gave keeps its own reading unless that was neutral.
    """
    topics = {t.topic: t for t in found}
    changed = False
    for entity, symptom in pairs:
        family = entity
        while True:
            hit = table.get((family, symptom))
            if hit is not None or "." not in family:
                break
            family = family.rsplit(".", 1)[0]
        if hit is None:
            continue
        topic, weight = hit
        have = topics.get(topic)
        if (
            have is None
            or have.polarity == "neutral"
            or (have.polarity == "complaint" and have.score < weight)
        ):
            topics[topic] = TopicScore(topic, "complaint", max(weight, have.score if have else 0.0))
            changed = True
    if not changed:
        return found
    return tuple(sorted(topics.values(), key=lambda t: (-t.score, t.topic, t.polarity)))


def _document_models(
    polarity: Mapping[str, Mapping[str, float]],
) -> dict[str, tuple[ku.BagKernel, float, float]]:
    """Per language: the bag-of-n-grams kernel, intercept and valence coefficient."""
    models = {}
    for lang, rows in polarity.items():
        weights = dict(rows)
        bias = weights.pop(POLARITY_BIAS, 0.0)
        coef = weights.pop(POLARITY_VALENCE, 0.0)
        keys = sorted(weights)
        kernel = ku.BagKernel(
            [ku.code_units(k) for k in keys], np.array([weights[k] for k in keys])
        )
        models[lang] = (kernel, bias, coef)
    return models


class Analyzer:
    """Scores utterances against one lexicon; immutable after construction, safe across threads.

    The lexicon becomes the tables of a `kernels.utterance.UtteranceKernel`: an Aho-Corasick
    automaton over UTF-16 code units whose keys are the surface forms (NFKC+casefolded, plus
    traditional variants), and an item table (a key has one item per kind it is: the same
    word can be a topic and an emotion; modifiers come last, so a key that is also a sentiment
    term never modifies itself). One compiled call scans, selects leftmost-longest matches and
    runs the emotion model (semantics in the kernel's docstring); this class normalises the
    text, measures the surface cues and turns the kernel's arrays into result tuples. The
    kernel releases the GIL, so server threads score in parallel.
    """

    def __init__(self, lexicon: Lexicon, params: EmotionParams | None = None) -> None:
        self.lexicon = lexicon
        self.params = params = params or EmotionParams()
        arousal = [getattr(params, f"arousal_{name}") for name in kl.BUCKETS]
        # Items in the order the lexicon gives them; `by_key` lists each surface's items.
        by_key: dict[str, list[int]] = {}
        items_i: list[tuple[int, ...]] = []
        items_f: list[tuple[float, float]] = []
        meta: list[tuple[str, str, str]] = []
        seen: set[tuple[str, int, str]] = set()
        categories: dict[str, int] = {}
        for entry in lexicon.terms:
            polarity = flipped = kl.NEUTRAL
            if entry.kind == "topic":
                sign = _POLARITY_SIGN[entry.polarity]
                bucket = kl.DISAPP if sign < 0 else (kl.SATIS if sign > 0 else -1)
                code, extra = kl.TOPIC, 0.0
                polarity = _POLARITY_CODE[entry.polarity]
                flipped = _POLARITY_CODE[_FLIPPED_POLARITY[entry.polarity]]
            elif entry.kind == "emotion":
                bucket = _BUCKET[entry.category]
                sign = -1 if bucket in _NEGATIVE_BUCKETS else 1
                code, extra = kl.EMOTION, arousal[bucket]
            elif entry.kind == "modifier":
                code, sign, bucket, extra = _MOD_CODES[entry.category], 0, -1, 0.0
            elif entry.kind == "word":
                code, sign, bucket, extra = kl.WORD, 0, -1, 0.0
            elif entry.kind == "escalation":
                code, sign, bucket, extra = kl.ESCALATE, -1, kl.ANGER, params.arousal_anger
            elif entry.kind == "complaint":
                code, sign, bucket, extra = kl.MARK, -1, kl.DISAPP, 0.0
            else:
                code = kl.ENTITY if entry.kind == "entity" else kl.SYMPTOM
                sign, bucket, extra = 0, -1, 0.0
            weight = entry.weight
            if code == kl.NEG:
                weight *= params.negation_factor
            category = categories.setdefault(entry.category, len(categories))
            for surface in (entry.term, *entry.variants):
                if (surface, code, entry.category) in seen:  # same word in zh and en: once
                    continue
                seen.add((surface, code, entry.category))
                slot = bucket
                if code == kl.NEG or code == kl.INT or code == kl.DIM:
                    # English needs room for the words in between ("not at all happy").
                    english = surface[0] in _WORD
                    if code == kl.NEG:
                        slot = params.negation_window_en if english else params.negation_window
                    else:
                        slot = params.modifier_window_en if english else params.modifier_window
                by_key.setdefault(surface, []).append(len(items_i))
                items_i.append((code, sign, slot, category, polarity, flipped))
                items_f.append((weight, extra))
                meta.append((surface, entry.kind, entry.category))
        # Keys in sorted order, each with its items contiguous, modifiers last.
        keys_units: list[str] = []
        keys: list[tuple[int, ...]] = []
        order: list[int] = []
        for surface in sorted(by_key):
            items = by_key[surface]
            if len(items) > 1:
                # threats first (the negator before them stays pending for the key's other
                # items), modifiers last (a key that is also a term never modifies itself)
                items.sort(
                    key=lambda i: (
                        2
                        if kl.NEG <= items_i[i][0] <= kl.CONTRAST
                        else items_i[i][0] != kl.ESCALATE
                    )
                )
            units = ku.code_units(surface)
            bounded = (surface[0] in _WORD) | (surface[-1] in _WORD) << 1
            keys_units.append(units)
            keys.append((len(units), len(surface), bounded, len(order), len(order) + len(items)))
            order += items
        params_row = [float(getattr(params, name)) for name in kl.PARAMS]
        self._kernel = ku.UtteranceKernel(
            keys_units,
            np.array(keys, dtype=np.int32).reshape(-1, kl.KEY),
            np.array(items_i, dtype=np.int32).reshape(-1, kl.ITEM)[order],
            np.array(items_f, dtype=np.float64).reshape(-1, kl.FITEM)[order],
            np.array(params_row),
        )
        self._score = self._kernel.score
        self._meta = tuple([meta[i] for i in order])  # (surface, kind, category) per item
        self._categories = tuple(categories)  # category id -> name
        self._documents = _document_models(lexicon.polarity)
        self._combos = lexicon.combos
        # --- learned emotion model (issue 10 item 3): lang -> server.emotion_model model ---
        self._learned = learned_models(lexicon.learned)
        self._calm = Emotion("CALM", 0.0, 0.0, params.arousal_base)
        self._empty = Analysis((), (), self._calm, (), 0)

    def analyze_document(self, text: str) -> Analysis:
        """Scores a written document (a review, a survey comment): `analyze`, except polarity.

        Polarity comes from the document classifier of the text's language when the lexicon
        has one (a `polarity` file: weights of character n-grams summed over every occurrence,
        an intercept and a coefficient on the valence found by `analyze`); trained on reviews,
        it reads long written opinions better than the utterance model and would over-read
        short spoken requests, so live scoring never uses it. Polarity stays 0 when neither
        model finds anything.
        """
        analysis = self.analyze(text, with_matches=False, learned=False)
        cased, norm = normalise(text)
        model = self._documents.get("zh" if _CJK_RE.search(norm) else "en")
        if model is None:
            return analysis
        kernel, bias, coef = model
        hits, total = kernel.score(_frombuffer(_utf16(norm, "surrogatepass")[0], _uint16))
        valence = analysis.emotion.valence
        if not hits and valence == 0.0:
            return analysis
        z = bias + coef * valence + total
        polarity = 1 if z > 0.0 else (-1 if z < 0.0 else 0)
        return analysis if polarity == analysis.polarity else analysis._replace(polarity=polarity)

    def analyze(
        self,
        text: str,
        typing: Typing | None = None,
        voice: Voice | None = None,
        *,
        with_matches: bool = True,
        learned: bool = True,
    ) -> Analysis:
        """Scores one utterance.

        `with_matches=False` returns `matches=()` and every other field unchanged, for callers
        that read only topics, emotion, combos and polarity (feedback, report tags).
        `learned=False` leaves the emotion to the lexicon kernel alone, without the learned
        model of the text's language (server/emotion_model.py) deciding label and valence.
        """
        if not text and typing is None and voice is None:
            return self._empty
        cased, norm = normalise(text)
        if typing is None and voice is None and cased == norm:
            cue = 0.0
        else:
            cue = other_cues(self.params, cased, norm, typing, voice)
        units = _frombuffer(_utf16(norm, "surrogatepass")[0], _uint16)
        scalars, ints, floats = self._score(units, cue, with_matches)
        (
            label,
            polarity,
            kept,
            n_matches,
            n_topics,
            n_entities,
            n_symptoms,
            intensity,
            valence,
            arousal,
            escalation,
        ) = _read_scalars(scalars)
        # --- learned emotion model (issue 10 item 3): it decides label, polarity and valence;
        # an escalation threat keeps the kernel's reading, typing and voice cues still make a
        # negative utterance ANGRY (hand weights: what the labelled text cannot teach).
        if learned and self._learned and escalation < 0:
            lang = "en" if norm.isascii() or not _CJK_RE.search(norm) else "zh"
            model = self._learned.get(lang)
            if model is not None:
                dense = dense_features(valence, polarity, label, kept, n_topics, norm)
                label, polarity, valence = model.decide(units, dense, polarity, label)
                p = self.params
                if polarity:
                    if polarity < 0 and arousal >= p.angry_arousal and (typing or voice):
                        label = ku.ANGRY
                    size = valence if valence > 0.0 else -valence
                    intensity = min(1.0, p.intensity_valence * size + p.intensity_arousal * arousal)
        # --- end of the learned emotion model
        if not kept and not polarity and arousal == self._calm.arousal:  # nothing found, no cue
            return self._empty
        new = _tuple_new
        # The records, as kernels.layout lays them out: ints per match, per topic, then the
        # entity and symptom ids; floats: a weight per match, then a score per topic.
        if n_matches:
            meta = self._meta
            matches = tuple(
                [
                    new(
                        Match,
                        meta[ints[r + M_ITEM]]
                        + (
                            ints[r + M_START],
                            ints[r + M_END],
                            _NEGATED[ints[r + M_NEGATED]],
                            floats[r // MATCH],
                        ),
                    )
                    for r in range(0, MATCH * n_matches, MATCH)
                ]
            )
        else:
            matches = ()
        if polarity:
            emotion = new(Emotion, (LABELS[label], intensity, valence, arousal))
        else:
            emotion = new(Emotion, ("CALM", 0.0, valence, arousal))
        r = MATCH * n_matches
        names = self._categories
        if not n_topics:
            topic_scores: tuple[TopicScore, ...] = ()
        elif n_topics == 1:
            said = _POLARITY_NAME[ints[r + T_POLARITY]]
            topic_scores = (
                new(TopicScore, (names[ints[r + T_CATEGORY]], said, floats[n_matches])),
            )
        else:
            found = [
                (
                    -floats[n_matches + t],
                    names[ints[r + TOPIC_INTS * t + T_CATEGORY]],
                    _POLARITY_NAME[ints[r + TOPIC_INTS * t + T_POLARITY]],
                )
                for t in range(n_topics)
            ]
            found.sort()
            topic_scores = tuple([new(TopicScore, (t, pol, -sc)) for sc, t, pol in found])
        r += TOPIC_INTS * n_topics
        combos: tuple[str, ...] = ()
        if n_entities and n_symptoms:
            # (category, sentence) records: an entity and a symptom pair up within a sentence
            # ("微信支付提示失败", "app一打开就闪退"), words between them or not.
            at = r + CLAUSED * n_entities
            pairs = sorted(
                {
                    (names[ints[e + C_CATEGORY]], names[ints[s + C_CATEGORY]])
                    for e in range(r, at, CLAUSED)
                    for s in range(at, at + CLAUSED * n_symptoms, CLAUSED)
                    if ints[e + C_CLAUSE] == ints[s + C_CLAUSE]
                }
            )
            if pairs:
                combos = tuple([f"{e}+{s}" for e, s in pairs])
                if self._combos:
                    topic_scores = _combo_topics(self._combos, pairs, topic_scores)
        said = self._meta[escalation][0] if escalation >= 0 else ""
        return new(Analysis, (matches, topic_scores, emotion, combos, polarity, said))
