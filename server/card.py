"""The screen-pop card: NPS, recent topics, emotion, priority, alert lines and an opening line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.config import CardConfig
from server.profiles import DAY_MS, nps_category


class TopicTexts(Protocol):
    """What the card needs from the lexicon: labels, severities and opening lines per topic."""

    def label(self, topic: str, locale: str) -> str: ...

    def severity(self, topic: str) -> int: ...

    def opening(self, topic: str, polarity: str, locale: str) -> str | None: ...


@dataclass(slots=True)
class CardTopic:
    topic: str
    label: str
    polarity: str
    count: int
    last_seen_ms: int


@dataclass(slots=True)
class CardEmotion:
    label: str
    intensity: float
    valence: float
    arousal: float


@dataclass(slots=True)
class Card:
    customer_id: str
    known: bool
    locale: str
    server_time_us: int
    tier: str = "TIER_UNSPECIFIED"
    name: str = ""
    nps_score: int = 0
    nps_category: str = "UNKNOWN"
    nps_at_ms: int = 0
    csat_score: int = 0
    csat_agent: str = ""
    csat_at_ms: int = 0
    topics: list[CardTopic] = field(default_factory=list)
    emotion: CardEmotion | None = None
    priority: str = "GREEN"
    alerts: list[str] = field(default_factory=list)
    opening_line: str = ""
    active_incidents: list[dict[str, Any]] = field(default_factory=list)
    escalation_phrase: str = ""  # the live interaction's escalation threat, "" when none


_TEXT = {
    "zh": {
        "detractor": "VoC 预警：NPS {score} 分（贬损者）",
        "passive_low": "NPS {score} 分（中立）",
        "complaint": "{when}投诉：{label}",
        "complaint_n": "{when}投诉：{label}（{days} 天内 {count} 次）",
        "low_csat": "上次满意度 {score}/5",
        "angry": "客户当前情绪：{emotion}",
        "threat": "客户威胁升级投诉：“{phrase}”",
        "tier": "{tier} 客户，请优先处理",
        "incident": "相关故障：{key}（{level} 处理中）",
        "today": "今天",
        "yesterday": "昨天",
        "days_ago": "{days} 天前",
        "open_detractor": "您好{name}，感谢您的来电。我看到您之前对我们的服务不太满意，这次我一定尽力帮您解决。",
        "open_praise": "您好{name}，感谢您一直以来的支持！请问今天有什么可以帮您？",
        "open_default": "您好{name}，很高兴为您服务，请问有什么可以帮您？",
        "honorific": "，{name}",
        "emotion.ANGRY": "愤怒",
        "emotion.ANXIOUS": "焦虑",
        "emotion.DISAPPOINTED": "失望",
        "emotion.SAD": "难过",
    },
    "en": {
        "detractor": "VoC alert: NPS {score} (detractor)",
        "passive_low": "NPS {score} (passive)",
        "complaint": "Complaint {when}: {label}",
        "complaint_n": "Complaint {when}: {label} ({count} times in {days} days)",
        "low_csat": "Last CSAT {score}/5",
        "angry": "Customer is {emotion} right now",
        "threat": 'Customer threatens to escalate: "{phrase}"',
        "tier": "{tier} customer: handle with priority",
        "incident": "Related incident: {key} ({level} open)",
        "today": "today",
        "yesterday": "yesterday",
        "days_ago": "{days} days ago",
        "open_detractor": "Hello{name}, thank you for calling. I can see you weren't happy with us "
        "last time, and I'll do my best to put that right today.",
        "open_praise": "Hello{name}, thank you for staying with us! How can I help you today?",
        "open_default": "Hello{name}, thanks for calling. How can I help you today?",
        "honorific": " {name}",
        "emotion.ANGRY": "angry",
        "emotion.ANXIOUS": "anxious",
        "emotion.DISAPPOINTED": "disappointed",
        "emotion.SAD": "upset",
    },
}
_NEGATIVE_LABELS = ("ANGRY", "ANXIOUS", "DISAPPOINTED", "SAD")
_TIER_RANK = {"STANDARD": 0, "VIP": 1, "VVIP": 2}


def _texts(locale: str) -> dict[str, str]:
    """The card's own texts for a locale: en*, zh (simplified) or zh-Hant/zh-TW/zh-HK/zh-MO
    (the simplified texts through OpenCC s2t, made once)."""
    lang = locale.replace("_", "-").split("-")[0].lower()
    if lang != "zh" or not is_traditional(locale):
        return _TEXT.get(lang, _TEXT["zh"])
    if "zh-hant" not in _TEXT:
        from opencc import OpenCC  # slow to import; only the first traditional card pays

        s2t = OpenCC("s2t")
        _TEXT["zh-hant"] = {k: s2t.convert(v) for k, v in _TEXT["zh"].items()}
    return _TEXT["zh-hant"]


def is_traditional(locale: str) -> bool:
    """zh-Hant, zh-TW, zh-HK and zh-MO (any case, - or _) are written in traditional characters."""
    low = locale.lower().replace("_", "-")
    return "hant" in low or low.endswith(("-tw", "-hk", "-mo"))


def _when(locale: str, now_ms: int, at_ms: int) -> str:
    """today, yesterday, or N days ago: the same words at every age."""
    text = _texts(locale)
    days = max(0, (now_ms - at_ms) // DAY_MS)
    if days == 0:
        return text["today"]
    if days == 1:
        return text["yesterday"]
    return text["days_ago"].format(days=days)


def recent_topics(
    events: list[dict[str, Any]], now_ms: int, days: int, texts: TopicTexts, locale: str
) -> list[CardTopic]:
    """Complaint and praise topics of the last `days` days, most recently seen first."""
    horizon = now_ms - days * DAY_MS
    seen: dict[tuple[str, str], CardTopic] = {}
    for event in reversed(events):  # newest first; events are kept in time order
        t = event["t"]
        if t < horizon:
            break
        for topic, polarity in event.get("tp", ()):
            if polarity == "neutral":
                continue
            entry = seen.get((topic, polarity))
            if entry is None:
                seen[(topic, polarity)] = CardTopic(
                    topic, texts.label(topic, locale), polarity, 1, t
                )
            else:
                entry.count += 1
    return list(seen.values())


def assemble_card(
    customer_id: str,
    profile: dict[str, Any] | None,
    *,
    now_ms: int,
    locale: str,
    texts: TopicTexts,
    cfg: CardConfig,
    live_emotion: CardEmotion | None = None,
    incidents: Callable[[list[str]], list[dict[str, Any]]] | None = None,
    escalation_phrase: str = "",
) -> Card:
    """Builds the card from a stored profile (None: unknown customer) and the live state;
    `incidents` maps the card's topics to the open triggers that touch them."""
    card = Card(
        customer_id=customer_id,
        known=profile is not None,
        locale=locale,
        server_time_us=now_ms * 1000,
        escalation_phrase=escalation_phrase,
    )
    if profile is None:
        if live_emotion is not None:
            card.emotion = live_emotion
        return card
    text = _texts(locale)
    card.tier = profile["tier"]
    card.name = profile.get("name") or ""
    nps = profile.get("nps")
    if nps:
        card.nps_score, card.nps_at_ms = nps["score"], nps["at"]
        card.nps_category = nps_category(nps["score"])
    csat = profile.get("csat")
    if csat:
        card.csat_score, card.csat_agent, card.csat_at_ms = csat["score"], csat["agent"], csat["at"]
    topics = recent_topics(profile["events"], now_ms, cfg.topic_days, texts, locale)
    card.topics = topics[: cfg.max_topics]
    if live_emotion is not None:
        card.emotion = live_emotion
    elif profile.get("emotion"):
        e = profile["emotion"]
        card.emotion = CardEmotion(e["label"], e["intensity"], e["valence"], e["arousal"])
    if incidents is not None and topics:
        card.active_incidents = incidents([t.topic for t in topics])

    # severity 0..3: detractor, fresh complaint (its topic's severity), anger right now
    severity = 0
    fresh = now_ms - cfg.fresh_days * DAY_MS
    complaint = next((t for t in topics if t.polarity == "complaint"), None)
    fresh_complaint = complaint if complaint and complaint.last_seen_ms >= fresh else None
    if card.nps_category == "DETRACTOR":
        severity = 2 if card.nps_score <= 3 else 1
    if fresh_complaint is not None:
        severity = max(severity, texts.severity(fresh_complaint.topic))
        if card.nps_category == "DETRACTOR":
            severity = min(3, severity + 1)
    emotion = card.emotion
    angry = (
        emotion is not None
        and emotion.label in _NEGATIVE_LABELS
        and emotion.intensity >= cfg.angry_intensity
    )
    if angry:
        severity = max(severity, 2)
    if card.active_incidents:
        severity = max(severity, 1)
    if escalation_phrase:  # a regulator, the media or a lawyer: the most severe case
        severity = 3
    card.priority = cfg.priority.get(card.tier, cfg.priority["STANDARD"])[severity]

    alerts = card.alerts
    if card.nps_category == "DETRACTOR":
        alerts.append(text["detractor"].format(score=card.nps_score))
    if complaint is not None:
        key = "complaint_n" if complaint.count > 1 else "complaint"
        when = _when(locale, now_ms, complaint.last_seen_ms)
        line = text[key].format(
            when=when, label=complaint.label, count=complaint.count, days=cfg.topic_days
        )
        alerts.append(line[0].upper() + line[1:])
    if card.csat_score and card.csat_score <= 2:
        alerts.append(text["low_csat"].format(score=card.csat_score))
    if escalation_phrase:
        alerts.append(text["threat"].format(phrase=escalation_phrase))
    if angry:
        alerts.append(text["angry"].format(emotion=text["emotion." + emotion.label]))
    if _TIER_RANK.get(card.tier, 0) >= 1 and severity >= 1:
        alerts.append(text["tier"].format(tier=card.tier))
    for incident in card.active_incidents[:3]:
        alerts.append(text["incident"].format(key=incident["key"], level=incident["level"]))

    name = text["honorific"].format(name=card.name) if card.name else ""
    opening = None
    if complaint is not None:
        opening = texts.opening(complaint.topic, "complaint", locale)
    if opening is None and card.nps_category == "DETRACTOR":
        opening = text["open_detractor"].format(name=name)
    if opening is None:
        praise = next((t for t in topics if t.polarity == "praise"), None)
        if praise is not None:
            opening = texts.opening(praise.topic, "praise", locale) or text["open_praise"].format(
                name=name
            )
    card.opening_line = opening or text["open_default"].format(name=name)
    return card
