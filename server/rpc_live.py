"""Live-scoring RPCs: ScoreUtterance, StreamInteraction and EndInteraction, protobuf <-> domain."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc

from clients.pb import voc_pb2
from server import convert
from server.errors import InvalidArgument, NotFound, VocError
from server.interactions import EndedInteraction, Interactions, UtteranceIn, UtteranceResult
from server.scoring import Typing, Voice

log = logging.getLogger(__name__)
_POLARITY = {"complaint": voc_pb2.COMPLAINT, "praise": voc_pb2.PRAISE, "neutral": voc_pb2.NEUTRAL}
_SPEAKER = {voc_pb2.CUSTOMER: "CUSTOMER", voc_pb2.AGENT: "AGENT"}


def utterance_in(msg: voc_pb2.Utterance) -> UtteranceIn:
    speaker = _SPEAKER.get(msg.speaker)
    if speaker is None:
        convert.enum_name(voc_pb2.Speaker, msg.speaker, "speaker")
        raise InvalidArgument("speaker", "is required (CUSTOMER or AGENT)")
    typing = voice = None
    if msg.HasField("typing"):
        t = msg.typing
        typing = Typing(t.chars, t.elapsed_ms, t.deletions)
    if msg.HasField("voice"):
        v = msg.voice
        voice = Voice(v.speech_rate, v.pitch_delta, v.energy_db)
    return UtteranceIn(
        msg.interaction_id,
        msg.customer_id,
        msg.agent_id,
        speaker,
        convert.enum_name(voc_pb2.Channel, msg.channel, "channel"),
        msg.text,
        msg.ts_ms,
        msg.locale,
        typing,
        voice,
    )


def score_pb(r: UtteranceResult) -> voc_pb2.UtteranceScore:
    a = r.analysis
    e, live = a.emotion, r.live
    return voc_pb2.UtteranceScore(
        interaction_id=r.interaction_id,
        matches=[
            voc_pb2.TermMatch(
                term=m.term,
                kind=m.kind,
                category=m.category,
                start=m.start,
                end=m.end,
                negated=m.negated,
                weight=m.weight,
            )
            for m in a.matches
        ],
        topics=[
            voc_pb2.TopicHit(topic=t.topic, polarity=_POLARITY[t.polarity], score=t.score)
            for t in a.topics
        ],
        emotion=voc_pb2.Emotion(
            label=e.label, intensity=e.intensity, valence=e.valence, arousal=e.arousal
        ),
        live=voc_pb2.Emotion(
            label=live.label, intensity=live.intensity, valence=live.valence, arousal=live.arousal
        ),
        escalation=r.escalation,
        triggers=[convert.trigger_pb(t) for t in r.triggers],
        lexicon_version=r.lexicon_version,
        combos=a.combos,
        escalation_threat=bool(a.escalation),
        escalation_phrase=a.escalation,
    )


def summary_pb(ended: EndedInteraction, labels) -> voc_pb2.InteractionSummary:
    s = ended.summary
    peak = s.peak_emotion
    return voc_pb2.InteractionSummary(
        interaction_id=ended.interaction_id,
        customer_id=ended.customer_id,
        topics=[
            voc_pb2.CardTopic(
                topic=t.topic,
                label=labels(t.topic),
                polarity=_POLARITY[t.polarity],
                count=t.count,
                last_seen_ms=s.last_update_ms,
            )
            for t in s.topics
        ],
        peak_emotion=voc_pb2.Emotion(
            label=peak.label, intensity=peak.intensity, valence=peak.valence, arousal=peak.arousal
        ),
        utterances=s.customer_utterance_count,
        escalated=s.escalated,
    )


class LiveRpcs:
    """Mixed into VocServicer, which sets `self.interactions` and `self.service`."""

    interactions: Interactions

    def ScoreUtterance(
        self, request: voc_pb2.Utterance, context: grpc.ServicerContext
    ) -> voc_pb2.UtteranceScore:
        return score_pb(self.interactions.score(utterance_in(request)))

    def StreamInteraction(
        self, request_iterator: Iterator[voc_pb2.Utterance], context: grpc.ServicerContext
    ) -> Iterator[voc_pb2.UtteranceScore]:
        """One interaction per stream: every utterance carries the same interaction_id; when the
        client closes (or drops) the stream the interaction ends and is written out. How many may
        be open at once is decided, and counted, by server/streams.py before this runs."""
        live = self.interactions
        interaction_id = None
        customer_id = ""
        try:
            for request in request_iterator:
                utterance = utterance_in(request)
                if interaction_id is None:
                    interaction_id = utterance.interaction_id.strip()
                elif utterance.interaction_id.strip() != interaction_id:
                    raise InvalidArgument(
                        "interaction_id", "must be the same on every message of a stream"
                    )
                customer_id = customer_id or utterance.customer_id.strip()
                yield score_pb(live.score(utterance))
        finally:
            if interaction_id:
                try:
                    live.end(interaction_id, customer_id)
                except (InvalidArgument, NotFound):
                    pass  # never opened: its first message was rejected
                except VocError as e:  # e.g. a full store: it stays live, the sweeper retries
                    log.warning(
                        "ending interaction %r at stream close failed: %s", interaction_id, e
                    )

    def EndInteraction(
        self, request: voc_pb2.EndInteractionRequest, context: grpc.ServicerContext
    ) -> voc_pb2.InteractionSummary:
        ended = self.interactions.end(request.interaction_id, request.customer_id)
        lexicon = self.service.engine.current.lexicon
        locale = self.service.cfg.server.default_locale
        return summary_pb(ended, lambda topic: lexicon.label(topic, locale))
