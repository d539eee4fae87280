"""Protobuf <-> domain translation, kept out of the servicers so they stay one screen each."""

from __future__ import annotations

from typing import Any

from clients.pb import admin_pb2, voc_pb2
from server.card import Card, CardEmotion, is_traditional
from server.errors import InvalidArgument
from server.feedback import Dashboard, FeedbackIn, FeedbackResult, TopicHit
from server.profiles import ProfileIn

_POLARITY = {"complaint": voc_pb2.COMPLAINT, "praise": voc_pb2.PRAISE, "neutral": voc_pb2.NEUTRAL}
_TIER = {name: voc_pb2.Tier.Value(name) for name in ("STANDARD", "VIP", "VVIP")}
_NPS = {name: voc_pb2.NpsCategory.Value(name) for name in voc_pb2.NpsCategory.keys()}
_PRIORITY = {name: voc_pb2.Priority.Value(name) for name in voc_pb2.Priority.keys()}
_LEVEL = {name: voc_pb2.TriggerLevel.Value(name) for name in voc_pb2.TriggerLevel.keys()}
_TKIND = {name: voc_pb2.TriggerKind.Value(name) for name in voc_pb2.TriggerKind.keys()}
_TSTATE = {name: voc_pb2.TriggerState.Value(name) for name in voc_pb2.TriggerState.keys()}


def enum_name(enum: Any, value: int, field: str) -> str:
    """The name of a known enum value; unknown numbers (newer clients) are a bad argument."""
    try:
        return enum.Name(value)
    except ValueError:
        raise InvalidArgument(field, f"unknown value {value}") from None


def locale_of(value: str, default: str) -> str:
    """zh, en or zh-Hant (zh-TW, zh-HK, zh-MO and zh-Hant-* are written in traditional
    characters); other zh-* are zh, en-* are en."""
    value = value.strip()
    if not value:
        return default
    lang = value.replace("_", "-").split("-")[0].lower()
    if lang not in ("zh", "en"):
        raise InvalidArgument("locale", f"must be zh or en (zh-TW, zh-HK, en-US...), got {value!r}")
    return "zh-Hant" if lang == "zh" and is_traditional(value) else lang


def emotion_pb(label: str, intensity: float, valence: float, arousal: float) -> voc_pb2.Emotion:
    return voc_pb2.Emotion(label=label, intensity=intensity, valence=valence, arousal=arousal)


def topic_hits_pb(topics: tuple[TopicHit, ...]) -> list[voc_pb2.TopicHit]:
    return [
        voc_pb2.TopicHit(topic=t.topic, polarity=_POLARITY[t.polarity], score=t.score)
        for t in topics
    ]


def trigger_pb(t: dict[str, Any]) -> voc_pb2.Trigger:
    return voc_pb2.Trigger(
        trigger_id=t["id"],
        level=_LEVEL[t["level"]],
        kind=_TKIND[t["kind"]],
        key=t["key"],
        count=t["count"],
        window_s=t["window_s"],
        first_ms=t["first_ms"],
        fired_ms=t["fired_ms"],
        owner=t["owner"],
        message=t["message"],
        sample_agent_ids=t.get("agents", ()),
        sample_customer_ids=t.get("customers", ()),
        state=_TSTATE[t["state"]],
        acked_by=t.get("acked_by", ""),
        acked_ms=t.get("acked_ms", 0),
        resolved_by=t.get("resolved_by", ""),
        resolved_ms=t.get("resolved_ms", 0),
        deliveries=[
            voc_pb2.Delivery(
                owner=d["owner"],
                type=d["type"],
                state=d["state"],
                attempts=d["attempts"],
                last_error=d["last_error"],
                delivered_ms=d["delivered_ms"],
                next_ms=d["next_ms"] if d["state"] == "RETRYING" else 0,
                escalation=d.get("escalation", False),
            )
            for d in t.get("deliveries", ())
        ],
    )


def card_pb(card: Card) -> voc_pb2.SummaryCard:
    msg = voc_pb2.SummaryCard(
        customer_id=card.customer_id,
        known=card.known,
        locale=card.locale,
        server_time_us=card.server_time_us,
    )
    if card.emotion is not None:
        e: CardEmotion = card.emotion
        msg.emotion.CopyFrom(emotion_pb(e.label, e.intensity, e.valence, e.arousal))
    msg.escalation_threat = bool(card.escalation_phrase)
    msg.escalation_phrase = card.escalation_phrase
    if not card.known:
        return msg
    msg.tier = _TIER.get(card.tier, 0)
    msg.name = card.name
    msg.nps.category = _NPS[card.nps_category]
    if card.nps_category != "UNKNOWN":
        msg.nps.score = card.nps_score
        msg.nps.surveyed_at_ms = card.nps_at_ms
    if card.csat_score:
        msg.last_csat.score = card.csat_score
        msg.last_csat.agent_id = card.csat_agent
        msg.last_csat.at_ms = card.csat_at_ms
    msg.topics.extend(
        voc_pb2.CardTopic(
            topic=t.topic,
            label=t.label,
            polarity=_POLARITY[t.polarity],
            count=t.count,
            last_seen_ms=t.last_seen_ms,
        )
        for t in card.topics
    )
    msg.priority = _PRIORITY[card.priority]
    msg.alerts.extend(card.alerts)
    msg.opening_line = card.opening_line
    msg.active_incidents.extend(trigger_pb(t) for t in card.active_incidents)
    return msg


def feedback_in(msg: voc_pb2.Feedback) -> FeedbackIn:
    kind = enum_name(voc_pb2.Feedback.Kind, msg.kind, "kind")
    if kind == "KIND_UNSPECIFIED":
        raise InvalidArgument("kind", "is required (NPS, CSAT, COMPLAINT, PRAISE or COMMENT)")
    return FeedbackIn(
        feedback_id=msg.feedback_id,
        customer_id=msg.customer_id,
        kind=kind,
        agent_id=msg.agent_id,
        score=msg.score if msg.HasField("score") else None,
        text=msg.text,
        channel=enum_name(voc_pb2.Channel, msg.channel, "channel"),
        ts_ms=msg.ts_ms,
        locale=msg.locale.strip().lower(),
    )


def feedback_ack_pb(result: FeedbackResult) -> voc_pb2.FeedbackAck:
    ack = voc_pb2.FeedbackAck(
        feedback_id=result.feedback_id,
        duplicate=result.duplicate,
        topics=topic_hits_pb(result.topics),
    )
    if result.emotion:
        ack.emotion.CopyFrom(emotion_pb(*result.emotion))
    return ack


def dashboard_pb(board: Dashboard, now_ms: int) -> voc_pb2.AgentDashboard:
    msg = voc_pb2.AgentDashboard(agent_id=board.agent_id, server_time_ms=now_ms)
    msg.csat.extend(
        voc_pb2.CsatWindow(window=w.window, count=w.count, average=w.average) for w in board.csat
    )
    for c in board.comments:
        comment = msg.comments.add(
            feedback_id=c.feedback_id,
            customer_id=c.customer_id,
            score=c.score,
            text=c.text,
            at_ms=c.at_ms,
            topics=topic_hits_pb(c.topics),
        )
        if c.emotion:
            comment.emotion.CopyFrom(emotion_pb(*c.emotion))
    return msg


def profile_in(msg: admin_pb2.Profile) -> ProfileIn:
    tier = enum_name(voc_pb2.Tier, msg.tier, "tier")
    if tier == "TIER_UNSPECIFIED":
        raise InvalidArgument("tier", "is required (STANDARD, VIP or VVIP)")
    return ProfileIn(msg.customer_id, tier, msg.name, msg.locale, dict(msg.attributes))
