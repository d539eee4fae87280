"""Running emotion and topics of one live interaction, fed utterance by utterance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.scoring import Analysis, Emotion

CALM = Emotion("CALM", 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class LiveParams:
    """Weights of the running state; filled from the [live] config table."""

    # Each customer utterance halves the weight of what came before (1.0) ...
    half_life_utterances: float = 1.0
    # ... and silence decays it too: after this many ms the old state counts half as much.
    half_life_ms: float = 60_000.0
    # Escalation: the running anger crosses this level upwards ...
    escalation_level: float = 0.45
    # ... or climbs by more than this within one utterance.
    escalation_jump: float = 0.3
    dead_zone: float = 0.1  # running |valence| below this is CALM


@dataclass(frozen=True, slots=True)
class TopicSeen:
    topic: str
    polarity: str  # complaint if the customer ever complained, else praise if praised, else neutral
    count: int  # customer utterances that mentioned it
    max_score: float


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    topics: tuple[TopicSeen, ...]  # most mentioned first
    peak_emotion: Emotion  # most negative customer utterance (CALM if none was negative)
    utterance_count: int  # all utterances, both speakers
    customer_utterance_count: int
    escalated: bool
    last_update_ms: int


_RANK = {"complaint": 2, "praise": 1, "neutral": 0}


class InteractionState:
    """One interaction's running state; not thread-safe (one stream owns it); no clock inside."""

    __slots__ = (
        "params",
        "_valence",
        "_arousal",
        "_intensity",
        "_anger",
        "_neg_label",
        "_pos_label",
        "_started",
        "_topics",
        "_peak",
        "_utterances",
        "_customer_utterances",
        "_escalated",
        "_last_ms",
        "_last_customer_ms",
    )

    def __init__(self, params: LiveParams | None = None) -> None:
        self.params = params or LiveParams()
        self._valence = self._arousal = self._intensity = self._anger = 0.0
        self._neg_label = "DISAPPOINTED"  # latest negative label of the customer
        self._pos_label = "SATISFIED"  # latest positive label
        self._started = False
        self._topics: dict[str, list] = {}  # topic -> [polarity, count, max_score]
        self._peak = CALM
        self._utterances = 0
        self._customer_utterances = 0
        self._escalated = False
        self._last_ms = 0
        self._last_customer_ms = 0

    @staticmethod
    def anger_of(emotion: Emotion) -> float:
        """How angry one utterance is: its intensity if ANGRY, else negative valence x arousal."""
        if emotion.label == "ANGRY":
            return emotion.intensity
        return -emotion.valence * emotion.arousal if emotion.valence < 0.0 else 0.0

    def update(self, analysis: Analysis, speaker: str, ts_ms: int) -> tuple[Emotion, bool]:
        """Fold one utterance in; returns the live emotion and whether this utterance escalated.

        Only CUSTOMER utterances move the emotion and the topics (agents' words are not the
        customer's voice); any speaker updates the utterance count and the last update time.
        """
        self._utterances += 1
        self._last_ms = max(self._last_ms, ts_ms)
        if speaker.upper() != "CUSTOMER":
            return self.live(), False
        p = self.params
        emotion = analysis.emotion
        anger = self.anger_of(emotion)
        if not self._started:
            keep = 0.0
            self._started = True
        else:
            elapsed = max(0, ts_ms - self._last_customer_ms)
            keep = 0.5 ** (1.0 / p.half_life_utterances) * 0.5 ** (elapsed / p.half_life_ms)
        fresh = 1.0 - keep
        before = self._anger
        self._valence = keep * self._valence + fresh * emotion.valence
        self._arousal = keep * self._arousal + fresh * emotion.arousal
        self._intensity = keep * self._intensity + fresh * emotion.intensity
        self._anger = keep * self._anger + fresh * anger
        if emotion.label != "CALM":
            if emotion.valence < 0.0:
                self._neg_label = emotion.label
            else:
                self._pos_label = emotion.label
        self._customer_utterances += 1
        self._last_customer_ms = max(self._last_customer_ms, ts_ms)
        if emotion.valence < self._peak.valence:
            self._peak = emotion
        for score in analysis.topics:
            seen = self._topics.get(score.topic)
            if seen is None:
                self._topics[score.topic] = [score.polarity, 1, score.score]
            else:
                if _RANK[score.polarity] > _RANK[seen[0]]:
                    seen[0] = score.polarity
                seen[1] += 1
                if score.score > seen[2]:
                    seen[2] = score.score
        level = p.escalation_level
        escalation = (before < level <= self._anger) or (self._anger - before > p.escalation_jump)
        if escalation:
            self._escalated = True
        return self.live(), escalation

    def live(self) -> Emotion:
        """The running emotion: decayed averages, labelled by the latest utterance label of the
        same sign as the running valence (CALM inside the dead zone)."""
        valence = self._valence
        if -self.params.dead_zone < valence < self.params.dead_zone:
            return Emotion("CALM", 0.0, valence, self._arousal)
        label = self._neg_label if valence < 0.0 else self._pos_label
        return Emotion(label, self._intensity, valence, self._arousal)

    def to_record(self) -> list[Any]:
        """The state as plain data (for the live store); `from_record` reads it back exactly."""
        return [
            self._valence,
            self._arousal,
            self._intensity,
            self._anger,
            self._neg_label,
            self._pos_label,
            self._started,
            self._topics,
            list(self._peak),
            self._utterances,
            self._customer_utterances,
            self._escalated,
            self._last_ms,
            self._last_customer_ms,
        ]

    @classmethod
    def from_record(cls, params: LiveParams, record: list[Any]) -> InteractionState:
        state = cls.__new__(cls)
        state.params = params
        (
            state._valence,
            state._arousal,
            state._intensity,
            state._anger,
            state._neg_label,
            state._pos_label,
            state._started,
            state._topics,
            peak,
            state._utterances,
            state._customer_utterances,
            state._escalated,
            state._last_ms,
            state._last_customer_ms,
        ) = record
        state._peak = Emotion(*peak)
        return state

    @property
    def anger(self) -> float:
        return self._anger

    def summary(self) -> InteractionSummary:
        topics = sorted(self._topics.items(), key=lambda kv: (-kv[1][1], -kv[1][2], kv[0]))
        return InteractionSummary(
            topics=tuple(TopicSeen(t, pol, count, score) for t, (pol, count, score) in topics),
            peak_emotion=self._peak,
            utterance_count=self._utterances,
            customer_utterance_count=self._customer_utterances,
            escalated=self._escalated,
            last_update_ms=self._last_ms,
        )
