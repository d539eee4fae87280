"""Live interactions: bounded in memory, scored utterance by utterance, written to the profile
when they end, when their stream closes, or when they go idle."""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from server.card import CardEmotion
from server.config import build_section
from server.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
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
    gone: bool = False  # written out (its record committed): a new part starts on next use
    ended: EndedInteraction | None = None  # what End stored, for Ends that waited on it
    threat: str = ""  # the customer's first escalation threat, for the card


@dataclass(frozen=True, slots=True)
class InteractionLimits:
    """The [live] limits; the emotion weights of the running state are in LiveParams."""

    max_live: int = 20_000  # held in memory; past it the least recently active are written out
    idle_s: float = 600.0
    sweep_s: float = 5.0
    # open StreamInteraction streams, one thread each: admitted and counted by server/streams.py
    max_streams: int = 6_000


def check_utterance(
    u: UtteranceIn, *, now_ms: int, max_id_chars: int, max_text_chars: int
) -> UtteranceIn:
    """Validates every field; returns the utterance with ids trimmed and time defaulted."""
    iid = check_id("interaction_id", u.interaction_id, max_id_chars)
    if u.speaker not in SPEAKERS:
        raise InvalidArgument("speaker", "must be CUSTOMER or AGENT")
    cid = check_id("customer_id", u.customer_id, max_id_chars, required=False)  # see _get
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
    """The live interactions of this process, least recently used first; thread-safe.

    One life per interaction_id: EndInteraction (or the close of its stream) ends it for good;
    scoring it afterwards is refused with FAILED_PRECONDITION and a second End returns the
    summary stored by the first. Each interaction has a lock held from the update of its state
    to the commit of its write, so End and ScoreUtterance racing give one stored summary with
    every utterance acknowledged before the End. Writing out is not ending: at the live cap the
    least recently active interactions, when idle past `idle_s` the idle ones, and on shutdown
    all of them are written in batches (one transaction each) and dropped from memory; a later
    utterance on such an id goes on in a new live part, and its write (or End) merges into the
    stored summary. A live interaction leaves memory only after its write has committed, so a
    failed write loses nothing and the next try writes it.

    Lock order: the table lock is never held while waiting for an interaction's lock.
    """

    def __init__(self, service: Any, params: LiveParams, limits: InteractionLimits) -> None:
        self.service = service
        self.params = params
        self.limits = limits
        self._live: OrderedDict[str, LiveInteraction] = OrderedDict()
        self._lock = threading.Lock()
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

    def stop(self, timeout_s: float | None = None) -> int:
        """Writes every live interaction out (a restart loses no topics), in batches, within
        `timeout_s` (default [server] grace_s); returns how many were written."""
        self._stop.set()
        if timeout_s is None:
            timeout_s = self.service.cfg.server.grace_s
        deadline = time.monotonic() + timeout_s
        with self._lock:
            pending = list(self._live.values())
        written = 0
        for start in range(0, len(pending), _BATCH):
            if time.monotonic() > deadline:
                break
            try:
                written += self._write_out(pending[start : start + _BATCH], wait=True)
            except Exception:  # noqa: BLE001 - the rest may still be written
                log.exception("writing live interactions at shutdown failed")
        left = len(self._live)
        if left:
            log.warning("%d live interactions not written within %.1f s", left, timeout_s)
        return written

    def __len__(self) -> int:
        return len(self._live)

    # -- scoring ---------------------------------------------------------------------------

    def _get(self, u: UtteranceIn, now_ms: int) -> LiveInteraction:
        """The live interaction of u, opened if need be; at the cap the least recently active
        are written out first."""
        for _ in range(8):
            with self._lock:
                live = self._live.get(u.interaction_id)
                if live is not None and not live.gone:
                    self._live.move_to_end(u.interaction_id)
                    if u.customer_id and live.customer_id and u.customer_id != live.customer_id:
                        raise InvalidArgument(
                            "customer_id",
                            f"interaction {u.interaction_id!r} belongs to another customer",
                        )
                    if u.speaker == "CUSTOMER" and not (u.customer_id or live.customer_id):
                        raise _no_customer()
                    live.customer_id = live.customer_id or u.customer_id
                    live.agent_id = live.agent_id or u.agent_id
                    live.touched_ms = now_ms
                    return live
                if len(self._live) < self.limits.max_live:
                    # read under the table lock: an End removes its interaction only after its
                    # record committed, so a miss here sees that record
                    stored = self.service.store.get("idem", _key(u.interaction_id))
                    if stored is not None and stored.get("ended", True):
                        raise _ended(u.interaction_id)
                    if stored and u.customer_id and u.customer_id != stored["customer"]:
                        raise InvalidArgument(
                            "customer_id",
                            f"interaction {u.interaction_id!r} belongs to another customer",
                        )
                    customer = u.customer_id or (stored["customer"] if stored else "")
                    if u.speaker == "CUSTOMER" and not customer:
                        raise _no_customer()
                    live = LiveInteraction(
                        u.interaction_id,
                        customer,
                        u.agent_id,
                        InteractionState(self.params),
                        now_ms,
                    )
                    self._live[u.interaction_id] = live
                    return live
                oldest = list(itertools.islice(self._live.values(), _evict_batch(self.limits)))
            self._write_out(oldest, wait=False)
        raise ResourceExhausted(
            f"more than {self.limits.max_live} live interactions, and none could be written out"
        )

    def score(self, u: UtteranceIn) -> UtteranceResult:
        svc = self.service
        s = svc.cfg.server
        now = svc.clock()
        u = check_utterance(
            u, now_ms=now, max_id_chars=s.max_id_chars, max_text_chars=s.max_text_chars
        )
        scoring = svc.engine.current
        analysis = scoring.analyzer.analyze(u.text, u.typing, u.voice)
        while True:
            live = self._get(u, now)
            with live.lock:
                if live.gone:  # ended or written out since the lookup: look again
                    continue
                emotion, escalation = live.state.update(analysis, u.speaker, u.ts_ms)
                if u.speaker == "CUSTOMER":
                    live.customer_spoke = True
                    if analysis.escalation and not live.threat:
                        live.threat = analysis.escalation
                if u.speaker == "CUSTOMER" and analysis.topics and not live.snippet:
                    live.snippet = mask_pii(u.text)[:200]
                break
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
        """Ends an interaction and writes it out; a retry returns what was written."""
        s = self.service.cfg.server
        iid = check_id("interaction_id", interaction_id, s.max_id_chars)
        cid = check_id("customer_id", customer_id, s.max_id_chars, required=False)
        while True:
            with self._lock:
                live = self._live.get(iid)
            if live is None:
                ended = self._end_stored(iid, cid)
                with self._lock:
                    again = self._live.get(iid)
                if again is None or again.gone:
                    return ended
                continue  # a new part opened while its written-out record was being ended
            with live.lock:
                if live.ended is not None:  # ended by another End while this one waited
                    return live.ended
                if live.gone:  # written out meanwhile: its record is committed
                    continue
                if cid and live.customer_id and cid != live.customer_id:
                    raise InvalidArgument(
                        "customer_id", f"interaction {iid!r} belongs to another customer"
                    )
                record = self.service.store.write(lambda tx, live=live: self._put(tx, live, True))
                live.ended = _ended_from_record(record)
                live.gone = True
            self._forget([live])
            return live.ended

    def _end_stored(self, iid: str, cid: str) -> EndedInteraction:
        """End of an interaction no longer in memory: already ended, or written out."""
        key = _key(iid)

        def work(tx: WriteTxn) -> dict[str, Any] | None:
            record = tx.get("idem", key)
            if record is not None and not record.get("ended", True):
                record["ended"] = True
                tx.put("idem", key, record)
            return record

        record = self.service.store.get("idem", key)
        if record is not None and not record.get("ended", True):
            record = self.service.store.write(work)
        if record is None:
            raise NotFound(f"interaction_id: no live or ended interaction {iid!r}")
        if cid and record["customer"] and cid != record["customer"]:
            raise InvalidArgument("customer_id", f"interaction {iid!r} belongs to another customer")
        return _ended_from_record(record)

    def _write_out(self, lives: list[LiveInteraction], *, wait: bool) -> int:
        """Writes these interactions (not ending them) in one transaction, then drops them
        from memory. Without `wait` an interaction busy in another thread is skipped (it is
        active, not idle). A failed write leaves every one of them live."""
        taken = []
        try:
            for live in lives:
                if live.lock.acquire(blocking=wait):
                    if live.gone:
                        live.lock.release()
                    else:
                        taken.append(live)
            if taken:
                self.service.store.write(lambda tx: [self._put(tx, live, False) for live in taken])
                for live in taken:
                    live.gone = True
        finally:
            for live in taken:
                live.lock.release()
        self._forget(taken)
        return len(taken)

    def _forget(self, lives: list[LiveInteraction]) -> None:
        with self._lock:
            for live in lives:
                if self._live.get(live.interaction_id) is live:
                    del self._live[live.interaction_id]

    def _put(self, tx: WriteTxn, live: LiveInteraction, end: bool) -> dict[str, Any]:
        """Writes one live part into the transaction (caller holds live.lock): the profile
        event, and the interaction's record merged with any earlier part; returns the record."""
        summary = live.state.summary()
        now = self.service.clock()
        key = _key(live.interaction_id)
        record = _merge(tx.get("idem", key), live, summary, now)
        record["ended"] = end or record.get("ended", False)
        if live.customer_id and summary.customer_utterance_count:
            cfg = self.service.cfg.store
            peak = summary.peak_emotion
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
        return record

    def _sweep(self) -> None:
        while not self._stop.wait(self.limits.sweep_s):
            now = self.service.clock()
            horizon = now - int(self.limits.idle_s * 1000)
            with self._lock:
                idle = list(
                    itertools.takewhile(
                        lambda live, horizon=horizon: live.touched_ms <= horizon,
                        self._live.values(),
                    )
                )
            for start in range(0, len(idle), _BATCH):
                try:
                    self._write_out(idle[start : start + _BATCH], wait=False)
                except Exception:  # noqa: BLE001 - one bad write must not stop the sweeper
                    log.exception("writing %d idle interactions failed", len(idle[start:]))
                    break


_BATCH = 500  # interactions written per transaction when writing out


def _evict_batch(limits: InteractionLimits) -> int:
    """How many of the least recently active to write out when the cap is reached: a batch,
    so one commit makes room for many new calls."""
    return max(1, min(_BATCH, limits.max_live // 100))


def _key(interaction_id: str) -> bytes:
    return b"i:" + interaction_id.encode()


def _no_customer() -> InvalidArgument:
    return InvalidArgument("customer_id", "is required on the first utterance of an interaction")


def _ended(interaction_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"interaction_id: {interaction_id!r} has ended (EndInteraction or the close of its "
        "stream); score a new interaction under a new interaction_id"
    )


def _merge(
    previous: dict[str, Any] | None, live: LiveInteraction, s: InteractionSummary, now_ms: int
) -> dict[str, Any]:
    """The interaction's record: this live part merged into the parts written before it."""
    topics: dict[str, list] = {}
    rank = {"complaint": 2, "praise": 1, "neutral": 0}
    old = previous["topics"] if previous else []
    for topic, polarity, count, score in [*old, *([t.topic, t.polarity, t.count, t.max_score]
                                                  for t in s.topics)]:  # fmt: skip
        seen = topics.get(topic)
        if seen is None:
            topics[topic] = [topic, polarity, count, round(score, 3)]
            continue
        if rank[polarity] > rank[seen[1]]:
            seen[1] = polarity
        seen[2] += count
        seen[3] = max(seen[3], round(score, 3))
    peak = list(s.peak_emotion)
    if previous and previous["peak"][2] <= peak[2]:
        peak = previous["peak"]
    ordered = sorted(topics.values(), key=lambda t: (-t[2], -t[3], t[0]))
    return {
        "v": SCHEMA_VERSION,
        "id": live.interaction_id,
        "customer": live.customer_id or (previous["customer"] if previous else ""),
        "agent": live.agent_id or (previous["agent"] if previous else ""),
        "at": now_ms,
        "topics": ordered,
        "peak": peak,
        "utterances": s.utterance_count + (previous["utterances"] if previous else 0),
        "customer_utterances": s.customer_utterance_count
        + (previous["customer_utterances"] if previous else 0),
        "escalated": s.escalated or bool(previous and previous["escalated"]),
        "last": max(s.last_update_ms, previous["last"] if previous else 0),
        "ended": bool(previous and previous.get("ended", True)),
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
