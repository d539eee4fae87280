"""Feedback events (NPS, CSAT, complaint, praise, comment) and the agent's CSAT dashboard."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from server import records
from server.config import StoreConfig
from server.errors import AlreadyExists, InvalidArgument
from server.privacy import mask_pii
from server.profiles import (
    DAY_MS,
    FUTURE_SLACK_MS,
    add_event,
    check_event_time,
    check_id,
    load_for_update,
    put_profile,
)
from server.store import SCHEMA_VERSION, Store, WriteTxn

KINDS = ("NPS", "CSAT", "COMPLAINT", "PRAISE", "COMMENT")
CHANNELS = ("CHANNEL_UNSPECIFIED", "VOICE", "CHAT", "EMAIL", "SOCIAL", "SURVEY")
DASHBOARD_WINDOWS = (("24h", 1), ("7d", 7), ("30d", 30))


class TextAnalyzer(Protocol):
    """The scoring engine as feedback sees it: topics, an emotion and a polarity for a text."""

    def analyze_document(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class FeedbackIn:
    feedback_id: str
    customer_id: str
    kind: str
    agent_id: str = ""
    score: int | None = None  # required for NPS and CSAT (0 is a real NPS score)
    text: str = ""
    channel: str = "CHANNEL_UNSPECIFIED"
    ts_ms: int = 0
    locale: str = ""


@dataclass(frozen=True, slots=True)
class TopicHit:
    topic: str
    polarity: str
    score: float


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    feedback_id: str
    duplicate: bool
    topics: tuple[TopicHit, ...] = ()
    emotion: tuple[str, float, float, float] | None = None  # label, intensity, valence, arousal


def check_feedback(
    fb: FeedbackIn, *, now_ms: int, max_id_chars: int, max_text_chars: int, history_days: int
) -> FeedbackIn:
    """Validates every field; returns the normalised event (time defaults to now)."""
    fid = check_id("feedback_id", fb.feedback_id, max_id_chars)
    cid = check_id("customer_id", fb.customer_id, max_id_chars)
    if fb.kind not in KINDS:
        raise InvalidArgument("kind", f"must be one of {', '.join(KINDS)}, got {fb.kind!r}")
    aid = check_id("agent_id", fb.agent_id, max_id_chars, required=fb.kind == "CSAT")
    score = fb.score if fb.score is not None else 0
    if fb.kind == "NPS" and fb.score is not None and not 0 <= score <= 10:
        raise InvalidArgument("score", f"NPS must be 0-10, got {fb.score}")
    if fb.kind == "CSAT" and fb.score is not None and not 1 <= score <= 5:
        raise InvalidArgument("score", f"CSAT must be 1-5, got {fb.score}")
    if len(fb.text) > max_text_chars:
        raise InvalidArgument("text", f"longer than {max_text_chars} characters")
    if fb.kind in ("COMPLAINT", "PRAISE", "COMMENT") and not fb.text.strip():
        raise InvalidArgument("text", f"is required for {fb.kind}")
    if fb.channel not in CHANNELS:
        raise InvalidArgument("channel", f"unknown channel {fb.channel!r}")
    if fb.locale and fb.locale.replace("_", "-").split("-")[0] not in ("zh", "en"):
        raise InvalidArgument("locale", f"must be zh or en (zh-TW, en-US...), got {fb.locale!r}")
    ts = check_event_time(fb.ts_ms, now_ms)
    if ts < now_ms - history_days * DAY_MS:
        raise InvalidArgument("ts_ms", f"is older than the {history_days}-day history")
    if fb.kind in ("NPS", "CSAT") and fb.score is None:
        scale = "0-10" if fb.kind == "NPS" else "1-5"
        raise InvalidArgument("score", f"is required for {fb.kind} ({scale}); it was not set")
    return FeedbackIn(fid, cid, fb.kind, aid, score, fb.text.strip(), fb.channel, ts, fb.locale)


def feedback_topics(kind: str, analysis: Any) -> tuple[TopicHit, ...]:
    """Topics of a feedback text; the kind of a complaint or praise decides its polarity."""
    forced = {"COMPLAINT": "complaint", "PRAISE": "praise"}.get(kind)
    whole = ("neutral", "praise", "complaint")[analysis.polarity]  # index -1: complaint
    hits = []
    for t in analysis.topics:
        polarity = forced or t.polarity
        if polarity == "neutral":
            polarity = whole  # a neutral mention takes the sign of the whole text
        hits.append(TopicHit(t.topic, polarity, float(t.score)))
    return tuple(hits)


def _fingerprint(fb: FeedbackIn) -> str:
    parts = (fb.customer_id, fb.agent_id, fb.kind, str(fb.score), fb.text)
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def _result(stored: dict[str, Any], duplicate: bool) -> FeedbackResult:
    emotion = stored.get("emo")
    return FeedbackResult(
        stored["id"],
        duplicate,
        tuple(TopicHit(*t) for t in stored.get("tp", ())),
        tuple(emotion) if emotion else None,
    )


def record_feedback(
    store: Store, fb: FeedbackIn, analysis: Any | None, cfg: StoreConfig, now_ms: int
) -> FeedbackResult:
    """Stores a checked feedback event once: profile, agent history and idempotency key commit
    together, so a retry finds the key and stores nothing twice."""
    topics = feedback_topics(fb.kind, analysis) if analysis is not None else ()
    emotion = None
    if analysis is not None and fb.text:
        e = analysis.emotion
        emotion = (
            e.label,
            round(float(e.intensity), 3),
            round(float(e.valence), 3),
            round(float(e.arousal), 3),
        )
    masked = mask_pii(fb.text)
    fingerprint = _fingerprint(fb)
    idem_key = records.feedback_idem_key(fb.feedback_id)
    stored = {
        "v": SCHEMA_VERSION,
        "id": fb.feedback_id,
        "fp": fingerprint,
        "t": fb.ts_ms,
        "at": now_ms,  # when it was recorded: the idempotency key expires from here
        "tp": [[t.topic, t.polarity, round(t.score, 3)] for t in topics],
        "emo": list(emotion) if emotion else None,
    }

    def work(tx: WriteTxn) -> FeedbackResult:
        previous = tx.get("idem", idem_key)
        if previous is not None:
            if previous["fp"] != fingerprint:
                raise AlreadyExists(
                    f"feedback_id: {fb.feedback_id!r} was already used for different feedback"
                )
            return _result(previous, duplicate=True)
        profile = load_for_update(tx, fb.customer_id, now_ms)
        if fb.kind == "NPS":
            if not profile["nps"] or profile["nps"]["at"] <= fb.ts_ms:
                profile["nps"] = {"score": fb.score, "at": fb.ts_ms}
        elif fb.kind == "CSAT":
            if not profile["csat"] or profile["csat"]["at"] <= fb.ts_ms:
                profile["csat"] = {"score": fb.score, "agent": fb.agent_id, "at": fb.ts_ms}
        if emotion and fb.kind in ("COMPLAINT", "PRAISE", "COMMENT"):
            label, intensity, valence, arousal = emotion
            profile["emotion"] = {
                "label": label,
                "intensity": intensity,
                "valence": valence,
                "arousal": arousal,
                "at": fb.ts_ms,
            }
        event = {
            "t": fb.ts_ms,
            "k": fb.kind.lower(),
            "src": fb.feedback_id,
            "tp": [[t.topic, t.polarity] for t in topics if t.polarity != "neutral"],
        }
        if fb.kind in ("NPS", "CSAT"):
            event["s"] = fb.score
        add_event(
            profile,
            event,
            now_ms=now_ms,
            history_days=cfg.history_days,
            max_events=cfg.history_max_events,
        )
        put_profile(tx, profile)
        if fb.kind == "CSAT":
            _add_csat(tx, fb, masked, emotion, topics, now_ms, cfg)
        tx.put("idem", idem_key, stored)
        tx.incr("feedback")
        return _result(stored, duplicate=False)

    return store.write(work)


def _add_csat(
    tx: WriteTxn,
    fb: FeedbackIn,
    text: str,
    emotion: Any,
    topics: tuple[TopicHit, ...],
    now_ms: int,
    cfg: StoreConfig,
) -> None:
    key = fb.agent_id.encode()
    agent = tx.get("agents", key) or {"v": SCHEMA_VERSION, "id": fb.agent_id, "csat": []}
    entries: list[list[Any]] = agent["csat"]
    entries.append(
        [
            fb.ts_ms,
            fb.score,
            fb.feedback_id,
            fb.customer_id,
            text,
            list(emotion) if emotion else None,
            [[t.topic, t.polarity, round(t.score, 3)] for t in topics],
        ]
    )
    if len(entries) > 1 and entries[-2][0] > fb.ts_ms:
        entries.sort(key=lambda e: e[0])
    horizon = now_ms - cfg.agent_history_days * DAY_MS
    drop = 0
    while drop < len(entries) and entries[drop][0] < horizon:
        drop += 1
    drop = max(drop, len(entries) - cfg.agent_history_max)
    del entries[:drop]
    tx.put("agents", key, agent)


@dataclass(slots=True)
class CsatWindow:
    window: str
    count: int
    average: float


@dataclass(slots=True)
class AgentComment:
    feedback_id: str
    customer_id: str
    score: int
    text: str
    at_ms: int
    emotion: tuple[str, float, float, float] | None
    topics: tuple[TopicHit, ...]


@dataclass(slots=True)
class Dashboard:
    agent_id: str
    csat: list[CsatWindow] = field(default_factory=list)
    comments: list[AgentComment] = field(default_factory=list)


def agent_dashboard(
    agent_id: str, record: dict[str, Any] | None, now_ms: int, comments_limit: int = 10
) -> Dashboard:
    """Rolling CSAT over 24 h / 7 d / 30 d and the most recent comments, newest first."""
    entries = record["csat"] if record else []
    board = Dashboard(agent_id)
    for name, days in DASHBOARD_WINDOWS:
        horizon = now_ms - days * DAY_MS
        scores = [e[1] for e in entries if horizon <= e[0] <= now_ms + FUTURE_SLACK_MS]
        avg = round(sum(scores) / len(scores), 3) if scores else 0.0
        board.csat.append(CsatWindow(name, len(scores), avg))
    for e in reversed(entries):
        if len(board.comments) >= comments_limit:
            break
        if e[4]:
            board.comments.append(
                AgentComment(
                    e[2],
                    e[3],
                    e[1],
                    e[4],
                    e[0],
                    tuple(e[5]) if e[5] else None,
                    tuple(TopicHit(*t) for t in e[6]),
                )
            )
    return board


def prune_idempotency(store: Store, older_than_ms: int, batch: int = 2000) -> int:
    """Deletes feedback (f:) and interaction (i:) idempotency keys recorded before
    `older_than_ms`, a batch per transaction so writers are never held up long; returns how many.
    Keys written before "at" was stored fall back to the event time."""
    removed = 0
    start = b""
    while True:

        def work(tx: WriteTxn, start: bytes = start) -> tuple[int, bytes | None]:
            cur = tx.cursor("idem")
            seen = gone = 0
            ok = cur.set_range(start)
            while ok and seen < batch:
                key = cur.key()
                seen += 1
                if key[:2] in (records.FEEDBACK_IDEM, records.INTERACTION_IDEM):
                    record = orjson.loads(cur.value())
                    if record.get("at", record.get("t", 0)) < older_than_ms:
                        cur.delete()  # moves to the next key, or off the end
                        ok = cur.key() != b""
                        gone += 1
                        continue
                ok = cur.next()
            return gone, (cur.key() if ok else None)

        gone, next_key = store.write(work)
        removed += gone
        if next_key is None:
            return removed
        start = next_key
