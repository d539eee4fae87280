"""Live interactions: bounded in memory, scored utterance by utterance, written to the profile
when they end, when their stream closes, or when they go idle."""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from server.card import CardEmotion
from server.config import build_section
from server.errors import InvalidArgument, NotFound, ResourceExhausted
from server.live import InteractionState, InteractionSummary, LiveParams, TopicSeen
from server.privacy import mask_pii
from server.profiles import add_event, check_event_time, check_id, load_for_update, put_profile
from server.scoring import Analysis, Emotion, Typing, Voice
from server.store import SCHEMA_VERSION, WriteTxn

log = logging.getLogger(__name__)
SPEAKERS = ("CUSTOMER", "AGENT")
_VOICE_RANGES = {
    "speech_rate": (0.0, 30.0),
    "pitch_delta": (-48.0, 48.0),
    "energy_db": (-90.0, 90.0),
}


@dataclass(frozen=True, slots=True)
class UtteranceIn:
    interaction_id: str
    customer_id: str
    agent_id: str
    speaker: str
    channel: str
    text: str
    ts_ms: int = 0
    locale: str = ""
    typing: Typing | None = None
    voice: Voice | None = None


@dataclass(frozen=True, slots=True)
class UtteranceResult:
    interaction_id: str
    analysis: Analysis
    live: Emotion
    escalation: bool
    triggers: tuple[dict[str, Any], ...]
    lexicon_version: str


@dataclass(frozen=True, slots=True)
class EndedInteraction:
    interaction_id: str
    customer_id: str
    summary: InteractionSummary


@dataclass(slots=True)
class LiveInteraction:
    interaction_id: str
    customer_id: str
    agent_id: str
    state: InteractionState
    touched_ms: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    snippet: str = ""
    customer_spoke: bool = False
    threat: str = ""  # the customer's first escalation threat, for the card


@dataclass(frozen=True, slots=True)
class InteractionLimits:
    """The [live] limits; the emotion weights of the running state are in LiveParams."""

    max_live: int = 20_000
    idle_s: float = 600.0
    sweep_s: float = 5.0
    max_streams: int = 6_000  # open StreamInteraction streams, one thread each (bench.streams)


def check_utterance(
    u: UtteranceIn, *, now_ms: int, max_id_chars: int, max_text_chars: int
) -> UtteranceIn:
    """Validates every field; returns the utterance with ids trimmed and time defaulted."""
    iid = check_id("interaction_id", u.interaction_id, max_id_chars)
    if u.speaker not in SPEAKERS:
        raise InvalidArgument("speaker", "must be CUSTOMER or AGENT")
    cid = check_id("customer_id", u.customer_id, max_id_chars, required=u.speaker == "CUSTOMER")
    aid = check_id("agent_id", u.agent_id, max_id_chars, required=False)
    if not u.text.strip():
        raise InvalidArgument("text", "is required")
    if len(u.text) > max_text_chars:
        raise InvalidArgument("text", f"longer than {max_text_chars} characters")
    ts = check_event_time(u.ts_ms, now_ms)
    if u.typing is not None:
        for name in ("chars", "elapsed_ms", "deletions"):
            if getattr(u.typing, name) < 0:
                raise InvalidArgument(f"typing.{name}", "must not be negative")
    if u.voice is not None:
        for name, (low, high) in _VOICE_RANGES.items():
            value = getattr(u.voice, name)
            if not math.isfinite(value) or not low <= value <= high:
                raise InvalidArgument(f"voice.{name}", f"must be within {low}..{high}")
    return UtteranceIn(iid, cid, aid, u.speaker, u.channel, u.text, ts, u.locale, u.typing, u.voice)


class Interactions:
    """The live interactions of this process, least recently used first; thread-safe."""

    def __init__(self, service: Any, params: LiveParams, limits: InteractionLimits) -> None:
        self.service = service
        self.params = params
        self.limits = limits
        self._live: OrderedDict[str, LiveInteraction] = OrderedDict()
        self._lock = threading.Lock()
        self._streams = 0
        self._stop = threading.Event()
        self._sweeper = threading.Thread(
            target=self._sweep, name="interaction-sweeper", daemon=True
        )

    @classmethod
    def from_config(cls, service: Any) -> Interactions:
        table = dict(service.cfg.live)
        limit_keys = {k: table.pop(k) for k in list(table) if k in InteractionLimits.__slots__}
        return cls(
            service,
            build_section("live", LiveParams, table),
            build_section("live", InteractionLimits, limit_keys),
        )

    def start(self) -> None:
        self._sweeper.start()

    def stop(self) -> None:
        """Writes every live interaction out (a restart loses no topics)."""
        self._stop.set()
        with self._lock:
            pending = list(self._live.values())
            self._live.clear()
        for live in pending:
            self._write(live)

    def __len__(self) -> int:
        return len(self._live)

    # -- streams ---------------------------------------------------------------------------

    def open_stream(self) -> None:
        with self._lock:
            if self._streams >= self.limits.max_streams:
                raise ResourceExhausted(
                    f"more than {self.limits.max_streams} open interaction streams"
                )
            self._streams += 1

    def close_stream(self) -> None:
        with self._lock:
            self._streams -= 1

    # -- scoring ---------------------------------------------------------------------------

    def _get(self, u: UtteranceIn, now_ms: int) -> LiveInteraction:
        evicted = None
        with self._lock:
            live = self._live.get(u.interaction_id)
            if live is None:
                if len(self._live) >= self.limits.max_live:
                    oldest = next(iter(self._live.values()))
                    if now_ms - oldest.touched_ms < 30_000:
                        raise ResourceExhausted(
                            f"more than {self.limits.max_live} live interactions"
                        )
                    evicted = self._live.pop(oldest.interaction_id)
                live = LiveInteraction(
                    u.interaction_id,
                    u.customer_id,
                    u.agent_id,
                    InteractionState(self.params),
                    now_ms,
                )
                self._live[u.interaction_id] = live
            else:
                self._live.move_to_end(u.interaction_id)
                if u.customer_id and live.customer_id and u.customer_id != live.customer_id:
                    raise InvalidArgument(
                        "customer_id",
                        f"interaction {u.interaction_id!r} belongs to another customer",
                    )
                live.customer_id = live.customer_id or u.customer_id
                live.agent_id = live.agent_id or u.agent_id
            live.touched_ms = now_ms
        if evicted is not None:
            self._write(evicted)
        return live

    def score(self, u: UtteranceIn) -> UtteranceResult:
        svc = self.service
        s = svc.cfg.server
        now = svc.clock()
        u = check_utterance(
            u, now_ms=now, max_id_chars=s.max_id_chars, max_text_chars=s.max_text_chars
        )
        scoring = svc.engine.current
        analysis = scoring.analyzer.analyze(u.text, u.typing, u.voice)
        live = self._get(u, now)
        with live.lock:
            emotion, escalation = live.state.update(analysis, u.speaker, u.ts_ms)
            if u.speaker == "CUSTOMER":
                live.customer_spoke = True
                if analysis.escalation and not live.threat:
                    live.threat = analysis.escalation
            if u.speaker == "CUSTOMER" and analysis.topics and not live.snippet:
                live.snippet = mask_pii(u.text[:200])
        triggers: tuple[dict[str, Any], ...] = ()
        if u.speaker == "CUSTOMER" and (analysis.topics or analysis.combos):
            observe = getattr(svc, "observe_utterance", None)
            if observe is not None:
                complaints = [t.topic for t in analysis.topics if t.polarity == "complaint"]
                triggers = tuple(
                    observe(
                        complaints,
                        list(analysis.combos),
                        u.ts_ms,
                        u.customer_id,
                        u.agent_id or live.agent_id,
                    )
                )
        return UtteranceResult(
            u.interaction_id, analysis, emotion, escalation, triggers, scoring.lexicon.version
        )

    def live_threat(self, interaction_id: str) -> str:
        """The customer's first escalation threat in a live interaction, "" when none."""
        live = self._live.get(interaction_id)
        return live.threat if live is not None else ""

    def live_emotion(self, interaction_id: str) -> CardEmotion | None:
        live = self._live.get(interaction_id)
        if live is None or not live.customer_spoke:
            return None
        with live.lock:
            e = live.state.live()
        return CardEmotion(e.label, e.intensity, e.valence, e.arousal)

    # -- ending ----------------------------------------------------------------------------

    def end(self, interaction_id: str, customer_id: str = "") -> EndedInteraction:
        """Ends a live interaction and writes it out; a retry returns what was written."""
        s = self.service.cfg.server
        iid = check_id("interaction_id", interaction_id, s.max_id_chars)
        cid = check_id("customer_id", customer_id, s.max_id_chars, required=False)
        with self._lock:
            live = self._live.get(iid)
            if live is not None and cid and live.customer_id and cid != live.customer_id:
                raise InvalidArgument(
                    "customer_id", f"interaction {iid!r} belongs to another customer"
                )
            if live is not None:
                del self._live[iid]
        if live is None:
            stored = self.service.store.get("idem", b"i:" + iid.encode())
            if stored is None:
                raise NotFound(f"interaction_id: no live or ended interaction {iid!r}")
            return _ended_from_record(stored)
        return self._write(live)

    def _write(self, live: LiveInteraction) -> EndedInteraction:
        with live.lock:
            summary = live.state.summary()
        ended = EndedInteraction(live.interaction_id, live.customer_id, summary)
        if not live.customer_id or not summary.customer_utterance_count:
            return ended
        svc = self.service
        now = svc.clock()
        record = _record_of(ended, live.agent_id, now)
        key = b"i:" + live.interaction_id.encode()
        peak = summary.peak_emotion
        cfg = svc.cfg.store

        def work(tx: WriteTxn) -> None:
            if tx.get("idem", key) is not None:
                return
            profile = load_for_update(tx, live.customer_id, now)
            event = {
                "t": summary.last_update_ms or now,
                "k": "interaction",
                "src": live.interaction_id,
                "tp": [[t.topic, t.polarity] for t in summary.topics if t.polarity != "neutral"],
                "peak": [peak.label, round(peak.intensity, 3), round(peak.valence, 3)],
                "esc": summary.escalated,
            }
            if live.snippet:
                event["txt"] = live.snippet
            add_event(
                profile,
                event,
                now_ms=now,
                history_days=cfg.history_days,
                max_events=cfg.history_max_events,
            )
            if peak.label != "CALM":
                profile["emotion"] = {
                    "label": peak.label,
                    "intensity": round(peak.intensity, 3),
                    "valence": round(peak.valence, 3),
                    "arousal": round(peak.arousal, 3),
                    "at": event["t"],
                }
            put_profile(tx, profile)
            tx.put("idem", key, record)

        svc.store.write(work)
        return ended

    def _sweep(self) -> None:
        while not self._stop.wait(self.limits.sweep_s):
            now = self.service.clock()
            horizon = now - int(self.limits.idle_s * 1000)
            idle = []
            with self._lock:
                for live in self._live.values():  # least recently used first
                    if live.touched_ms > horizon:
                        break
                    idle.append(live)
                for live in idle:
                    del self._live[live.interaction_id]
            for live in idle:
                try:
                    self._write(live)
                except Exception:  # noqa: BLE001 - one bad write must not stop the sweeper
                    log.exception("writing idle interaction %s failed", live.interaction_id)


def _record_of(ended: EndedInteraction, agent_id: str, now_ms: int) -> dict[str, Any]:
    s = ended.summary
    return {
        "v": SCHEMA_VERSION,
        "id": ended.interaction_id,
        "customer": ended.customer_id,
        "agent": agent_id,
        "at": now_ms,
        "topics": [[t.topic, t.polarity, t.count, round(t.max_score, 3)] for t in s.topics],
        "peak": list(s.peak_emotion),
        "utterances": s.utterance_count,
        "customer_utterances": s.customer_utterance_count,
        "escalated": s.escalated,
        "last": s.last_update_ms,
    }


def _ended_from_record(r: dict[str, Any]) -> EndedInteraction:
    summary = InteractionSummary(
        topics=tuple(TopicSeen(*t) for t in r["topics"]),
        peak_emotion=Emotion(*r["peak"]),
        utterance_count=r["utterances"],
        customer_utterance_count=r["customer_utterances"],
        escalated=r["escalated"],
        last_update_ms=r["last"],
    )
    return EndedInteraction(r["id"], r["customer"], summary)
