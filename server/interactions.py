"""Live interactions: running state shared by every process of the host (a LiveTable), scored
utterance by utterance by any worker, written to the profile when they end, when their stream
closes, or when they go idle."""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server import records
from server.card import CardEmotion
from server.config import Config, build_section
from server.engine import Engine
from server.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from server.live import InteractionState, InteractionSummary, LiveParams, TopicSeen
from server.privacy import mask_pii
from server.profiles import add_event, check_event_time, check_id, load_for_update, put_profile
from server.scoring import Analysis, Emotion, Typing, Voice
from server.state import KEEP, LiveTable
from server.store import Store, WriteTxn

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


@dataclass(frozen=True, slots=True)
class InteractionLimits:
    """The [live] limits; the emotion weights of the running state are in LiveParams."""

    max_live: int = 20_000  # live at once; past it the least recently active are written out
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


class EmbeddedLiveTable:
    """LiveTable on the host's live store (Store.live_beside): every worker process of the
    host reads and updates the same records."""

    def __init__(self, live: Store) -> None:
        self.live = live

    def get(self, interaction_id: str) -> dict[str, Any] | None:
        return self.live.get("live", records.live_key(interaction_id))

    def update(self, interaction_id: str, step: Callable[[dict | None], tuple[Any, Any]]) -> Any:
        return self.update_many([interaction_id], lambda _iid, record: step(record))[0]

    def update_many(
        self, interaction_ids: list[str], step: Callable[[str, dict | None], tuple[Any, Any]]
    ) -> list[Any]:
        def work(tx: WriteTxn) -> list[Any]:
            results = []
            for iid in interaction_ids:
                key = records.live_key(iid)
                before = tx.get("live", key)
                record, result = step(iid, before)
                if record is None:
                    if before is not None:
                        tx.delete("live", key)
                elif record is not KEEP:
                    tx.put("live", key, record)
                results.append(result)
            return results

        return self.live.write(work)

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        return [(k.decode(), r) for k, r in self.live.scan("live", limit=1 << 30)]

    def __len__(self) -> int:
        return self.live.entries("live")


class _Busy(Exception):
    """The interaction is being written out or ended by someone else right now."""


class _Full(Exception):
    """A new interaction found the live table at its cap."""


LEASE_MS = 10_000  # a writer that died holding an interaction frees it after this long
_BUSY_SLEEP_S = 0.001


class Interactions:
    """Live interactions, scored utterance by utterance by any process, written to the profile
    when they end; thread- and process-safe.

    The running state of each interaction is in a LiveTable shared by every worker process, so
    the utterances of one call may arrive through any connection and any worker and score as in
    one process. One life per interaction_id: EndInteraction (or the close of its stream) ends
    it for good; scoring it afterwards is refused with FAILED_PRECONDITION and a second End
    returns the summary stored by the first. Ending or writing out first takes a lease on the
    record (in the same atomic update that reads the state it writes), so an utterance either
    lands before it and is in the written summary, or waits for the write and then is refused
    (ended) or opens a new part (written out). Writing out is not ending: at the live cap the
    least recently active, when idle past `idle_s` the idle ones, and at the node's stop all of
    them are written in batches; a later utterance goes on in a new live part, merged into the
    stored summary by its own write or End. A failed write leaves every record live.

    `keeper`: this process sweeps idle interactions and writes every live one out when it
    stops (one process per node: the only one, or the trigger owner, which stops last).
    """

    def __init__(
        self,
        cfg: Config,
        store: Store,
        engine: Engine,
        table: LiveTable,
        params: LiveParams,
        limits: InteractionLimits,
        *,
        clock: Callable[[], int],
        signals: Callable[..., list[dict[str, Any]]] | None = None,
        keeper: bool = True,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.engine = engine
        self.table = table
        self.params = params
        self.limits = limits
        self.clock = clock
        self.signals = signals
        self.keeper = keeper
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sweeper = threading.Thread(
            target=self._sweep, name="interaction-sweeper", daemon=True
        )

    @classmethod
    def from_config(
        cls,
        cfg: Config,
        store: Store,
        engine: Engine,
        *,
        clock: Callable[[], int],
        signals: Callable[..., list[dict[str, Any]]] | None = None,
        keeper: bool = True,
        table: LiveTable | None = None,
    ) -> Interactions:
        """Over the embedded table beside `store` unless given one."""
        table_cfg = dict(cfg.live)
        limit_keys = {
            k: table_cfg.pop(k) for k in list(table_cfg) if k in InteractionLimits.__slots__
        }
        if table is None:
            table = EmbeddedLiveTable(store.live())
        return cls(
            cfg,
            store,
            engine,
            table,
            build_section("live", LiveParams, table_cfg),
            build_section("live", InteractionLimits, limit_keys),
            clock=clock,
            signals=signals,
            keeper=keeper,
        )

    def start(self) -> None:
        if self.keeper:
            self._sweeper.start()

    def stop(self, timeout_s: float | None = None) -> int:
        """The keeper writes every live interaction out (a restart loses no topics), in
        batches, within `timeout_s` (default [server] grace_s); returns how many were written.
        Other processes leave them to the keeper."""
        self._stop.set()
        written = 0
        try:
            # a table that outlives the node (the cluster's Redis) keeps its calls for the others
            if self.keeper and getattr(self.table, "drain_at_stop", True):
                if timeout_s is None:
                    timeout_s = self.cfg.server.grace_s
                deadline = time.monotonic() + timeout_s
                pending = [iid for iid, _ in self.table.records()]
                for start in range(0, len(pending), _BATCH):
                    if time.monotonic() > deadline:
                        break
                    try:
                        written += self._write_out(pending[start : start + _BATCH])
                    except Exception:  # noqa: BLE001 - the rest may still be written
                        log.exception("writing live interactions at shutdown failed")
                left = len(self.table)
                if left:
                    log.warning("%d live interactions not written within %.1f s", left, timeout_s)
        finally:
            self.close()
        return written

    def close(self) -> None:
        """Stops the sweeper and closes the table's connections (the cluster's Redis); the
        embedded table closes with its store."""
        self._stop.set()
        if self._sweeper.is_alive():
            self._sweeper.join(5)
        close = getattr(self.table, "close", None)
        if close is not None:
            close()

    def __len__(self) -> int:
        return len(self.table)

    def live_count(self) -> int:
        """How many are live, -1 when the table cannot answer now (the cluster's Redis down):
        Stats and the metrics scrape report the rest."""
        try:
            return len(self.table)
        except Unavailable:
            return -1

    # -- scoring ---------------------------------------------------------------------------

    def _opened(self, u: UtteranceIn, now_ms: int) -> dict[str, Any]:
        """The record of a new live part of u's interaction (checked against its stored
        record: an ended one is refused)."""
        stored = self._stored(u.interaction_id)
        if stored is not None and stored.get("ended", True):
            raise _ended(u.interaction_id)
        if stored and u.customer_id and u.customer_id != stored["customer"]:
            raise _other_customer(u.interaction_id)
        customer = u.customer_id or (stored["customer"] if stored else "")
        if u.speaker == "CUSTOMER" and not customer:
            raise _no_customer()
        state = InteractionState(self.params).to_record()
        return records.live_record(customer, u.agent_id, now_ms, state, secrets.token_hex(6))

    def _stored(self, interaction_id: str) -> dict[str, Any] | None:
        """The interaction's record: the one a cluster's table shares (every node's written
        parts), else the one in this node's store."""
        shared = self._shared([interaction_id]).get(interaction_id)
        if shared is not None:
            return shared
        return self.store.get("idem", records.interaction_key(interaction_id))

    def _shared(self, interaction_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The records a cluster's table shares for these ids ({} on one host)."""
        written = getattr(self.table, "written", None)
        if written is None:
            return {}
        found = zip(interaction_ids, written(interaction_ids), strict=True)
        return {iid: record for iid, record in found if record is not None}

    def _share(self, written: dict[str, dict[str, Any]]) -> None:
        share = getattr(self.table, "share_written", None)
        if share is not None and written:
            share(written)

    def _written(self, interaction_id: str, record: dict[str, Any]) -> bool:
        """Whether the interaction's stored record already holds this live part."""
        stored = self._stored(interaction_id)
        return (
            stored is not None
            and stored.get("part") == record["p"]
            and stored.get("pn", math.inf) >= record.get("n", 0)
        )

    def score(self, u: UtteranceIn) -> UtteranceResult:
        s = self.cfg.server
        now = self.clock()
        u = check_utterance(
            u, now_ms=now, max_id_chars=s.max_id_chars, max_text_chars=s.max_text_chars
        )
        scoring = self.engine.current
        analysis = scoring.analyzer.analyze(u.text, u.typing, u.voice)
        customer_words = u.speaker == "CUSTOMER"
        opened: list[str] = []  # the part this utterance opened

        def step(record: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
            opened.clear()
            if record is None:
                if self._at_cap():
                    raise _Full
                record = self._opened(u, now)
                opened.append(record["p"])
            elif _leased(record):
                raise _Busy
            elif record["lease"] and self._written(u.interaction_id, record):
                record = self._opened(u, now)  # a writer died after writing it: a new part
                opened.append(record["p"])
            else:
                # a writer died (or is slow) before writing it: it goes on, and that writer's
                # token no longer holds it (it will not drop what is scored from here on)
                record["lease"], record["lk"] = 0, ""
                if u.customer_id and record["c"] and u.customer_id != record["c"]:
                    raise _other_customer(u.interaction_id)
                if customer_words and not (u.customer_id or record["c"]):
                    raise _no_customer()
                record["c"] = record["c"] or u.customer_id
                record["a"] = record["a"] or u.agent_id
            record["t"] = now
            record["n"] = record.get("n", 0) + 1
            state = InteractionState.from_record(self.params, record["st"])
            emotion, escalation = state.update(analysis, u.speaker, u.ts_ms)
            record["st"] = state.to_record()
            if customer_words:
                record["cs"] = True
                if analysis.escalation and not record["th"]:
                    record["th"] = analysis.escalation
                if analysis.topics and not record["sn"]:
                    record["sn"] = mask_pii(u.text)[:200]
            return record, (emotion, escalation)

        emotion, escalation = self._retry(u.interaction_id, step)
        if opened:
            self._check_not_ended(u.interaction_id, opened[0])
        triggers: tuple[dict[str, Any], ...] = ()
        if customer_words and self.signals is not None and (analysis.topics or analysis.combos):
            # complaint topics and entity+symptom combos feed the trend counters
            complaints = [t.topic for t in analysis.topics if t.polarity == "complaint"]
            fired = self.signals(complaints, analysis.combos, u.ts_ms, u.customer_id, now_ms=now)
            triggers = tuple(fired)
        return UtteranceResult(
            u.interaction_id, analysis, emotion, escalation, triggers, scoring.lexicon.version
        )

    def _check_not_ended(self, interaction_id: str, part: str) -> None:
        """A part opened on top of a written-out record that an End ended between reading it
        (in _opened) and the part's commit: the End has returned, so the part is dropped
        (unless a writer holds it: then it is merged into the ended record) and the utterance
        refused."""
        stored = self._stored(interaction_id)
        if stored is None or not stored.get("ended", True):
            return

        def drop(record: dict[str, Any] | None) -> tuple[Any, bool]:
            if record is not None and record["p"] == part and not record.get("lk"):
                return None, True
            return KEEP, False

        if self.table.update(interaction_id, drop):
            raise _ended(interaction_id)

    def _retry(self, interaction_id: str, step: Callable) -> Any:
        """Runs one update of the interaction, waiting while another process writes it, and
        making room at the live cap. A writer holds an interaction for one store commit; one
        that died holding it frees it after LEASE_MS."""
        deadline = time.monotonic() + 2 * LEASE_MS / 1000
        while time.monotonic() < deadline:
            try:
                return self.table.update(interaction_id, step)
            except _Busy:
                time.sleep(_BUSY_SLEEP_S)
            except _Full:
                if not self._make_room():
                    raise ResourceExhausted(
                        f"more than {self.limits.max_live} live interactions, and none could "
                        "be written out"
                    ) from None
        raise Unavailable(
            f"interaction_id: {interaction_id!r} is being written by another process; retry"
        )

    def _at_cap(self) -> bool:
        return len(self.table) >= self.limits.max_live

    def _make_room(self) -> int:
        """Writes out the least recently active batch of interactions."""
        oldest = sorted(self.table.records(), key=lambda item: item[1]["t"])
        batch = [iid for iid, record in oldest if not _leased(record)][: _evict_batch(self.limits)]
        return self._write_out(batch)

    def live_threat(self, interaction_id: str) -> str:
        """The customer's first escalation threat in a live interaction, "" when none."""
        record = self.table.get(interaction_id)
        return record["th"] if record is not None else ""

    def live_emotion(self, interaction_id: str) -> CardEmotion | None:
        record = self.table.get(interaction_id)
        if record is None or not record["cs"]:
            return None
        e = InteractionState.from_record(self.params, record["st"]).live()
        return CardEmotion(e.label, e.intensity, e.valence, e.arousal)

    # -- ending ----------------------------------------------------------------------------

    def end(self, interaction_id: str, customer_id: str = "") -> EndedInteraction:
        """Ends an interaction and writes it out; a retry returns what was written."""
        s = self.cfg.server
        iid = check_id("interaction_id", interaction_id, s.max_id_chars)
        cid = check_id("customer_id", customer_id, s.max_id_chars, required=False)
        while True:

            def lease(record: dict[str, Any] | None) -> tuple[Any, Any]:
                if record is None:
                    return None, None
                if _leased(record):
                    raise _Busy
                if cid and record["c"] and cid != record["c"]:
                    raise _other_customer(iid)
                record["lease"], record["lk"] = _lease_until(), secrets.token_hex(8)
                return record, dict(record)

            record = self._retry(iid, lease)
            if record is None:
                ended = self._end_stored(iid, cid)
                again = self.table.get(iid)
                if again is None:
                    return ended
                continue  # a new part opened while its written-out record was being ended
            try:
                shared = self._shared([iid]).get(iid)
                stored = self.store.write(
                    lambda tx, r=record, s=shared: self._put(tx, iid, r, True, s)
                )
            except BaseException:
                self._release([(iid, record)])
                raise
            self._share({iid: stored})  # before the live part goes: no gap for a new one
            self._forget([(iid, record)])
            return _ended_from_record(stored)

    def _end_stored(self, iid: str, cid: str) -> EndedInteraction:
        """End of an interaction no longer live: already ended, or written out."""
        key = records.interaction_key(iid)

        shared = self._shared([iid]).get(iid)  # a cluster's record: every node's parts

        def work(tx: WriteTxn) -> dict[str, Any] | None:
            record = shared or tx.get("idem", key)
            if record is not None and not record.get("ended", True):
                record["ended"] = True
                tx.put("idem", key, record)
            return record

        record = shared or self.store.get("idem", key)
        if record is not None and not record.get("ended", True):
            record = self.store.write(work)
            self._share({iid: record})
        if record is None:
            raise NotFound(f"interaction_id: no live or ended interaction {iid!r}")
        if cid and record["customer"] and cid != record["customer"]:
            raise _other_customer(iid)
        return _ended_from_record(record)

    def _write_out(self, interaction_ids: list[str]) -> int:
        """Writes these interactions (not ending them) in one store transaction, then drops
        them from the live table. One that another process is writing is skipped; a failed
        write leaves every one of them live."""

        def lease(iid: str, record: dict[str, Any] | None) -> tuple[Any, Any]:
            if record is None or _leased(record):
                return KEEP, None
            record["lease"], record["lk"] = _lease_until(), secrets.token_hex(8)
            return record, (iid, dict(record))

        taken = [t for t in self.table.update_many(interaction_ids, lease) if t is not None]
        if not taken:
            return 0
        try:
            shared = self._shared([iid for iid, _ in taken])
            written = self.store.write(
                lambda tx: {iid: self._put(tx, iid, r, False, shared.get(iid)) for iid, r in taken}
            )
        except BaseException:
            self._release(taken)
            raise
        self._share(written)
        self._forget(taken)
        return len(taken)

    def _release(self, taken: list[tuple[str, dict[str, Any]]]) -> None:
        """Gives back the leases of a write that failed: the records stay live."""
        held = {iid: r["lk"] for iid, r in taken}

        def release(iid: str, record: dict[str, Any] | None) -> tuple[Any, None]:
            if record is None or record.get("lk") != held[iid]:
                return KEEP, None
            record["lease"], record["lk"] = 0, ""
            return record, None

        self.table.update_many(list(held), release)

    def _forget(self, taken: list[tuple[str, dict[str, Any]]]) -> None:
        """Drops written parts from the live table, each only if it still holds this writer's
        lease token: one that went on after the lease expired stays live (its next write
        merges what this one did not hold)."""
        held = {iid: r["lk"] for iid, r in taken}

        def forget(iid: str, record: dict[str, Any] | None) -> tuple[Any, None]:
            if record is not None and record.get("lk") == held[iid]:
                return None, None
            return KEEP, None

        self.table.update_many(list(held), forget)

    def _put(
        self,
        tx: WriteTxn,
        iid: str,
        live: dict[str, Any],
        end: bool,
        shared: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Writes one live part into the store transaction: the profile event, and the
        interaction's record merged with any earlier part; returns the record. A part already
        merged (its writer died before dropping it) is not counted twice; one merged with
        fewer utterances than it now holds (it went on after a slow writer's lease expired) is
        merged again over the parts before it, its profile event (when in this node's profile)
        replaced. `shared`: the cluster's record, merged over instead of this node's."""
        summary = InteractionState.from_record(self.params, live["st"]).summary()
        now = self.clock()
        key = records.interaction_key(iid)
        local = tx.get("idem", key)
        previous = shared if shared is not None else local
        same = previous is not None and previous.get("part") == live["p"]
        if same and previous.get("pn", math.inf) >= live.get("n", 0):
            record = previous
        else:
            base = previous.get("base") if same else _base(previous)
            record = _merge(base, iid, live, summary, now)
            record["pn"], record["base"] = live.get("n", 0), base
            replaced = (
                same
                and local is not None
                and local.get("part") == live["p"]
                and previous["customer"]
                and previous["customer_utterances"] > (base["customer_utterances"] if base else 0)
            )
            self._profile_event(tx, iid, live, summary, now, replace=bool(replaced))
        record["ended"] = end or bool(previous and previous.get("ended", True))
        tx.put("idem", key, record)
        return record

    def _profile_event(
        self,
        tx: WriteTxn,
        iid: str,
        live: dict[str, Any],
        summary: InteractionSummary,
        now: int,
        *,
        replace: bool = False,
    ) -> None:
        """The part's interaction event in the customer's profile; `replace`: this part's
        earlier event (the last one from this interaction) is dropped first."""
        if not (live["c"] and summary.customer_utterance_count):
            return
        cfg = self.cfg.store
        peak = summary.peak_emotion
        profile = load_for_update(tx, live["c"], now)
        if replace:
            mine = [i for i, e in enumerate(profile["events"]) if e.get("src") == iid]
            if mine:
                del profile["events"][mine[-1]]
        event = {
            "t": summary.last_update_ms or now,
            "k": "interaction",
            "src": iid,
            "tp": [[t.topic, t.polarity] for t in summary.topics if t.polarity != "neutral"],
            "peak": [peak.label, round(peak.intensity, 3), round(peak.valence, 3)],
            "esc": summary.escalated,
        }
        if live["sn"]:
            event["txt"] = live["sn"]
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

    def _sweep(self) -> None:
        while not self._stop.wait(self.limits.sweep_s):
            try:
                self.sweep()
            except Unavailable as exc:  # the cluster's Redis, for now: no traceback each time
                log.warning("sweeping live interactions failed, trying again: %s", exc)
            except Exception:  # noqa: BLE001 - the table closes at the stop
                if self._stop.is_set():
                    return
                log.exception("sweeping live interactions failed")

    def sweep(self) -> int:
        """Writes out the interactions idle past `idle_s`, and the least recently active ones
        while more than 90% of `max_live` are live, down to 80%: a new call at the cap would
        otherwise pay for finding them. Returns how many were written."""
        horizon = self.clock() - int(self.limits.idle_s * 1000)
        live = sorted(self.table.records(), key=lambda item: item[1]["t"])
        cap = self.limits.max_live
        excess = len(live) - int(cap * 0.8) if len(live) > cap * 0.9 else 0
        due = [iid for i, (iid, r) in enumerate(live) if i < excess or r["t"] <= horizon]
        written = 0
        for start in range(0, len(due), _BATCH):
            try:
                written += self._write_out(due[start : start + _BATCH])
            except Exception:  # noqa: BLE001 - one bad write must not stop the sweeper
                log.exception("writing %d live interactions out failed", len(due[start:]))
                break
        return written


_BATCH = 500  # interactions written per transaction when writing out


def _evict_batch(limits: InteractionLimits) -> int:
    """How many of the least recently active to write out when the cap is reached: a batch,
    so one commit makes room for many new calls."""
    return max(1, min(_BATCH, limits.max_live // 100))


def _lease_until() -> int:
    return time.time_ns() // 1_000_000 + LEASE_MS


def _leased(record: dict[str, Any]) -> bool:
    return record["lease"] > time.time_ns() // 1_000_000


def _other_customer(interaction_id: str) -> InvalidArgument:
    return InvalidArgument(
        "customer_id", f"interaction {interaction_id!r} belongs to another customer"
    )


def _no_customer() -> InvalidArgument:
    return InvalidArgument("customer_id", "is required on the first utterance of an interaction")


def _ended(interaction_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"interaction_id: {interaction_id!r} has ended (EndInteraction or the close of its "
        "stream); score a new interaction under a new interaction_id"
    )


def _merge(
    previous: dict[str, Any] | None,
    iid: str,
    live: dict[str, Any],
    s: InteractionSummary,
    now_ms: int,
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
    return records.interaction_record(
        iid,
        live["c"] or (previous["customer"] if previous else ""),
        live["a"] or (previous["agent"] if previous else ""),
        now_ms,
        ordered,
        peak,
        s.utterance_count + (previous["utterances"] if previous else 0),
        s.customer_utterance_count + (previous["customer_utterances"] if previous else 0),
        s.escalated or bool(previous and previous["escalated"]),
        max(s.last_update_ms, previous["last"] if previous else 0),
        bool(previous and previous.get("ended", True)),
        live["p"],
    )


_BASE_FIELDS = (
    "customer", "agent", "topics", "peak", "utterances", "customer_utterances", "escalated",
    "last", "ended",
)  # fmt: skip


def _base(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The summary of an interaction's written parts, without their own base."""
    return {k: record[k] for k in _BASE_FIELDS} if record else None


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
