"""The learned emotion model: emotion class and valence from character n-grams + the kernel's reading.

Fitted per language by lexicons/tools/fit_emotions.py on labelled public data and loaded from
`learned_*.tsv` (lexicons/README.md). `Analyzer.analyze` calls `LearnedEmotions.decide` once
per utterance, after the utterance kernel: the model decides the label, valence and polarity;
what the data cannot teach stays with the hand weights (escalation threats keep the kernel's
reading, typing and voice cues still make a negative utterance ANGRY, topics are untouched).

The model is linear (`kernels.ngram.NgramKernel`): per output column,
``z = bias + dense @ W_dense + (sum of the n-gram weights over every occurrence) / hits ** power``,
with the columns `COLUMNS`: a softmax over the five classes and a logistic valence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from kernels.ngram import NgramKernel
from kernels.utterance import code_units
from server.lexicon import HEADERS

#: Output columns (the weight columns of a `learned` file): the five emotion classes of
#: bench.accuracy, then the valence logit.
COLUMNS = HEADERS["learned"][1:-1]
CLASSES = COLUMNS[:5]
ANGRY, SAD, FEAR, HAPPY, NEUTRAL, VALENCE = range(len(COLUMNS))
#: Reserved terms of a `learned` file: the intercepts, the dense features, the settings.
BIAS = "(bias)"
DENSE = (
    "valence",
    "abs_valence",
    "negative",
    "positive",
    "label_angry",
    "label_anxious",
    "label_disappointed",
    "label_sad",
    "label_satisfied",
    "label_happy",
    "label_grateful",
    "matches",
    "topics",
    "exclamations",
    "questions",
    "length",
)
DENSE_TERMS = tuple(f"(dense:{name})" for name in DENSE)
#: Settings rows: the value in the first weight column, the others 0.
#: power: the n-gram sums are divided by hits ** power. gate_signed / gate_unsigned: the
#: utterance is neutral (CALM) when P(neutral) is at least this, when the lexicon kernel gave
#: a sign / gave none. When it gave none, the model also needs a valence of at least
#: margin_unsigned and a text of at least min_units_unsigned code units: a short
#: contact-center phrase the lexicons read as neutral ("好的", "请问您贵姓") stays neutral.
#: angry_boost multiplies P(angry) when the negative class is chosen (the class head is fitted
#: with balanced class weights; the boost moves its angry / sad / fear boundary).
#: min_units_signed: a text shorter than this that the lexicon kernel gave a sign keeps the
#: kernel's reading: a lexicon phrase covering most of a short utterance ("thanks for nothing",
#: "not bad at all") is more precise than n-gram statistics.
SETTINGS = (
    "power",
    "gate_signed",
    "gate_unsigned",
    "margin_unsigned",
    "min_units_unsigned",
    "angry_boost",
    "min_units_signed",
)
SETTING_TERMS = tuple(f"({name})" for name in SETTINGS)
RESERVED = frozenset((BIAS, *DENSE_TERMS, *SETTING_TERMS))

# Kernel label codes (server.scoring.LABELS order) and the class each belongs to.
CALM, L_ANGRY, L_ANXIOUS, L_DISAPPOINTED, L_SAD, L_SATISFIED, L_HAPPY, L_GRATEFUL = range(8)
_CLASS_OF_LABEL = (NEUTRAL, ANGRY, FEAR, SAD, SAD, HAPPY, HAPPY, HAPPY)
_LABEL_OF_CLASS = (L_ANGRY, L_DISAPPOINTED, L_ANXIOUS, L_SATISFIED, CALM)


def dense_features(
    valence: float,
    polarity: int,
    label: int,
    kept: int,
    n_topics: int,
    norm: str,
) -> list[float]:
    """The dense features (`DENSE` order) from the kernel's scalars and the normalised text
    (an utterance with an escalation threat never reaches the model). Not arousal: typing and
    voice raise it at run time, absent from the labelled text, and they must not move valence."""
    bangs = norm.count("!")
    questions = norm.count("?")
    x = [
        valence,
        valence if valence > 0.0 else -valence,
        1.0 if polarity < 0 else 0.0,
        1.0 if polarity > 0 else 0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        math.log1p(kept) if kept > 0 else 0.0,
        1.0 if n_topics else 0.0,
        (bangs if bangs < 3 else 3) / 3.0,
        (questions if questions < 3 else 3) / 3.0,
        math.log1p(len(norm)) / 5.0,
    ]
    if label:
        x[3 + label] = 1.0
    return x


class LearnedEmotions:
    """One language's fitted model and its settings; read-only once built (the fitting script
    sets the settings while it tunes them), safe across threads."""

    __slots__ = ("kernel", *SETTINGS[1:])  # the settings but power (the kernel's) by name

    def __init__(self, rows: Mapping[str, tuple[float, ...]]) -> None:
        missing = [t for t in (BIAS, *DENSE_TERMS, *SETTING_TERMS) if t not in rows]
        if missing:
            raise ValueError(f"learned table lacks the reserved rows {missing}")
        grams = sorted(t for t in rows if t not in RESERVED)
        weights = np.array([rows[g] for g in grams], dtype=np.float64).reshape(-1, len(COLUMNS))
        dense_w = np.array([rows[t] for t in DENSE_TERMS], dtype=np.float64)
        self.kernel = NgramKernel(
            [code_units(g) for g in grams],
            weights,
            np.array(rows[BIAS], dtype=np.float64),
            dense_w,
            rows["(power)"][0],
        )
        for name in SETTINGS[1:]:
            setattr(self, name, rows[f"({name})"][0])

    def decide(
        self, units: np.ndarray, dense: list[float], kernel_polarity: int, kernel_label: int
    ) -> tuple[int, int, float]:
        """(label code, polarity, valence) for an utterance; `dense` from `dense_features`.

        Neutral (CALM, valence 0) when P(neutral) reaches the gate, or, when the lexicon kernel
        gave no sign, when the text is short or the valence weak (`SETTINGS`); else the valence
        head's sign and the likeliest class of that sign (the kernel's finer label when it is of
        the same class: DISAPPOINTED or SAD; SATISFIED, HAPPY or GRATEFUL).
        """
        if kernel_polarity and units.shape[0] < self.min_units_signed:
            return kernel_label, kernel_polarity, dense[0]  # the kernel's reading stands
        p_neutral, valence, cls = self.read(units, dense)
        if kernel_polarity:
            if p_neutral >= self.gate_signed:
                return CALM, 0, 0.0
        elif (
            p_neutral >= self.gate_unsigned
            or units.shape[0] < self.min_units_unsigned
            or (valence if valence > 0.0 else -valence) < self.margin_unsigned
        ):
            return CALM, 0, 0.0
        if valence == 0.0:
            return CALM, 0, 0.0
        label = kernel_label if _CLASS_OF_LABEL[kernel_label] == cls else _LABEL_OF_CLASS[cls]
        return label, (1 if valence > 0.0 else -1), valence

    def read(self, units: np.ndarray, dense: list[float]) -> tuple[float, float, int]:
        """(P(neutral), valence in (-1, 1), likeliest class of the valence's sign)."""
        z = self.kernel.score(units, np.array(dense))
        top = max(z[0], z[1], z[2], z[3], z[4])
        e = [math.exp(v - top) for v in z[:5]]
        p_neutral = e[NEUTRAL] / (e[0] + e[1] + e[2] + e[3] + e[4])
        v = z[VALENCE]
        valence = 2.0 / (1.0 + math.exp(-v)) - 1.0 if v > -500.0 else -1.0
        if valence > 0.0:
            cls = HAPPY
        else:
            angry = e[ANGRY] * self.angry_boost
            cls = ANGRY if angry >= e[SAD] else SAD
            if e[FEAR] > (angry if cls == ANGRY else e[SAD]):
                cls = FEAR
        return p_neutral, valence, cls


def learned_models(
    tables: Mapping[str, Mapping[str, tuple[float, ...]]],
) -> dict[str, LearnedEmotions]:
    """Per language, the model of its `learned` table."""
    return {lang: LearnedEmotions(rows) for lang, rows in tables.items() if rows}
