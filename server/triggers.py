"""The trigger engine: one-click reports fire P0, trend counters fire P1, once per episode.

Rules (numbers from [reports], [weak_signals], [routing]; see server/trigger_rules.py):

* P0 AGENT_REPORTS: a tag fires when `threshold` distinct agents (default 10) have reported it
  within `window_s` (default 300 s). One agent counts once per window however often it clicks.
  Windows run on the server's clock: a report dated ahead of it counts at the server's now (the
  journal keeps the claimed time as ``sent``), one dated back inside the window counts at its
  own time and leaves the window sooner; no report moves a window past now, so no single agent
  can push the reports of others out early.
* P1 WEAK_SIGNAL: a topic or entity+symptom combination fires when its count in the current
  bucket is ``>= min_count`` and ``>= growth_ratio * max(baseline, floor)``.
* Tag slots: the kernel holds `max_tags` tag windows. One agent opens at most
  `max_new_tags_per_agent` new tags per window (then RESOURCE_EXHAUSTED naming it). A tag that
  finds no free slot is still accepted: it waits, counted here from its tracked agents, and
  takes the slot of the weakest seated tag (fewest agents, oldest among equals, never one in a
  P0 episode) as soon as it has more agents; the evicted tag waits with its agents in turn. So
  one-agent junk never pushes out a tag that several agents report.
* Episodes: a key fires once, then stays quiet while its episode lasts. A P0 episode ends when a
  report finds fewer than ``ceil(threshold * rearm_ratio)`` distinct agents left in the window
  (default: fewer than 5 of 10); a P1 episode ends once `rearm_buckets` buckets pass without
  the key meeting the rule. Acknowledging or resolving a trigger does not end its episode.

Durability: each report is journaled (key: big-endian ts_ms + report_id) with its idempotency
key, any trigger it fired and the episode change, in one committed transaction before the ack.
On start the windows are rebuilt from the journal and the episodes from the store, so a restart
neither loses counted reports nor fires twice. Trend counters are in memory only: after a
restart P1 waits `warmup_buckets` for history. The engine owns its kernels; one lock guards
them and the journal write, so the interface (report, observe, incidents_for, ack, list,
subscribe) can later move behind one owner process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from kernels import DistinctWindows, hash_agent
from server import records
from server.config import Config
from server.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from server.hub import Hub, Subscription
from server.metrics import trigger_fired
from server.profiles import FUTURE_SLACK_MS
from server.store import Store, WriteTxn
from server.trends import TopicTrends
from server.trigger_rules import (
    LEVELS,
    SAMPLE,
    STATES,
    ReportIn,
    ReportOutcome,
    Router,
    TagRule,
    TriggerParams,
    level_rank,
    new_trigger_id,
)
from server.weak_signals import WeakSignals

log = logging.getLogger(__name__)
_TRACKED_AGENTS = 64  # latest agents remembered per tag, for samples and first_ms
_PRUNE_EVERY = 512  # reports between journal prunes
_PRUNE_BATCH = 2000
_EVICT_EVERY_MS = 1000  # a full table looks for emptied windows at most this often


class _TagWindow:
    """A tag's kernel slot plus the latest agent and customer ids (the kernel keeps hashes).

    A tag waiting for a slot has ``slot == -1``; its agents are then counted here.
    """

    __slots__ = ("slot", "agents", "customers")

    def __init__(self, slot: int = -1) -> None:
        self.slot = slot
        self.agents: OrderedDict[str, int] = OrderedDict()
        self.customers: OrderedDict[str, int] = OrderedDict()

    def seen(self, agent_id: str, customer_id: str, ts: int) -> None:
        for ids, key in ((self.agents, agent_id), (self.customers, customer_id)):
            if not key:
                continue
            ids[key] = max(ts, ids.pop(key, ts))
            if len(ids) > _TRACKED_AGENTS:
                ids.popitem(last=False)

    def clear(self) -> None:
        self.agents.clear()
        self.customers.clear()

    def live(self, cutoff: int) -> int:
        """Tracked agents with a report after `cutoff` (ms)."""
        return sum(1 for t in self.agents.values() if t > cutoff)


def _fingerprint(r: ReportIn) -> str:
    parts = (r.agent_id, r.tag, r.customer_id, r.interaction_id, r.note)
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def _prune(tx: WriteTxn, cutoff_ms: int) -> int:
    """Deletes up to _PRUNE_BATCH journal entries older than cutoff_ms, with their idem keys."""
    stale = []
    for key, raw in tx.cursor("reports"):
        if int.from_bytes(key[:8], "big") >= cutoff_ms or len(stale) >= _PRUNE_BATCH:
            break
        stale.append((key, orjson.loads(raw)["id"]))
    for key, report_id in stale:
        tx.delete("reports", key)
        tx.delete("idem", records.report_idem_key(report_id))
    return len(stale)


class IncidentIndex:
    """Open triggers by topic, for cards: replaced whole, read without a lock."""

    __slots__ = ("_incidents",)

    def __init__(self) -> None:
        self._incidents: tuple[tuple[frozenset[str], dict[str, Any]], ...] = ()

    def replace(self, triggers: Iterable[dict[str, Any]]) -> None:
        """The open (not resolved) triggers now; those without topics are never shown."""
        self._incidents = tuple(
            (frozenset(t["topics"]), t)
            for t in triggers
            if t.get("state") != "RESOLVED" and t.get("topics")
        )

    def matching(self, topics: list[str]) -> list[dict[str, Any]]:
        """Open triggers whose topics include one of `topics`."""
        incidents = self._incidents
        if not incidents:
            return []
        wanted = set(topics)
        return [t for keys, t in incidents if not keys.isdisjoint(wanted)]


class TriggerEngine:
    """Owner of the report windows, the weak signals, episodes and open triggers (the embedded
    server.state.Triggers)."""

    def __init__(
        self,
        store: Store,
        params: TriggerParams,
        *,
        topics_of: Callable[[str], tuple[str, ...]],
        owner_of_topic: Callable[[str], str],
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self.params = params
        self.clock = clock
        self._topics_of = topics_of
        self._router = Router(params.routing, owner_of_topic)
        rp, wp = params.reports, params.weak
        self.windows = DistinctWindows(rp.max_tags, rp.agents_per_key)
        self.hub = Hub(capacity=rp.watch_queue, max_subscribers=rp.max_watchers)
        self.trends = TopicTrends()  # topics per hour for the ops board
        self._lock = threading.Lock()
        self._tags: dict[str, _TagWindow] = {}  # tags holding a kernel slot
        self._waiting: OrderedDict[str, _TagWindow] = OrderedDict()  # tags waiting for one
        self._opened_by: dict[str, list[int]] = {}  # agent -> times it opened a new tag
        self._free = list(range(rp.max_tags - 1, -1, -1))
        self._evicted_at = -(1 << 62)
        self._tag_topics: dict[str, tuple[str, ...]] = {}
        self._episodes: dict[str, dict[str, Any]] = {}  # "r:tag" / "w:topic:x" -> {id, hot}
        self._open: dict[str, dict[str, Any]] = {}  # trigger id -> trigger, until resolved
        self._incidents = IncidentIndex()
        self._since_prune = 0
        self.weak = WeakSignals(wp, store, self._episodes, self._trigger, self._opened)

    @classmethod
    def open(
        cls, cfg: Config, store: Store, scoring: Any, clock: Callable[[], int]
    ) -> TriggerEngine:
        """Builds the engine over the store and the scoring engine, and rebuilds its state."""

        def topics_of(tag: str) -> tuple[str, ...]:
            current = scoring.current
            if tag in current.lexicon.taxonomy:
                return (tag,)
            topics = current.analyzer.analyze(tag, with_matches=False).topics
            return tuple(dict.fromkeys(t.topic for t in topics))

        engine = cls(
            store,
            TriggerParams.from_config(cfg),
            topics_of=topics_of,
            owner_of_topic=lambda topic: scoring.current.lexicon.owner(topic),
            clock=clock,
        )
        engine.rebuild()
        return engine

    # -- start and stop --------------------------------------------------------------------

    def rebuild(self) -> int:
        """Replays the journal of the longest window into the kernels and loads episodes and
        open triggers; prunes older entries. Returns the reports replayed."""
        now = self.clock()
        cutoff = now - self.params.longest_window_ms - FUTURE_SLACK_MS
        replayed = 0
        with self._lock:
            for rec in self._journal(cutoff):
                rule = self.params.rule_for(rec["tag"])
                if rec["t"] > now - rule.window_ms - FUTURE_SLACK_MS:
                    if rec["tag"] not in self._tags and rec["tag"] not in self._waiting:
                        self._opened_by.setdefault(rec["a"], []).append(rec["t"])
                    self._count(rec, rule)
                    replayed += 1
            episodes = self.store.scan("meta", records.EPISODE, records.EPISODES_END, limit=1 << 20)
            for key, episode in episodes:
                self._episodes[key[len(records.EPISODE) :].decode()] = episode
            for _, t in self.store.scan("triggers", reverse=True, limit=10_000):
                if t["state"] != "RESOLVED":
                    self._open[t["id"]] = t
            self._refresh_incidents()
        while self.store.write(lambda tx: _prune(tx, cutoff)) == _PRUNE_BATCH:
            pass
        log.info("trigger windows rebuilt", extra={"reports": replayed, "open": len(self._open)})
        return replayed

    def end_streams(self) -> None:
        self.hub.close()

    def stop(self, timeout_s: float = 0.0) -> None:
        self.hub.close()

    def _journal(self, from_ms: int) -> Iterator[dict[str, Any]]:
        start = max(0, from_ms).to_bytes(8, "big")
        while True:
            page = self.store.scan("reports", start, limit=10_000)
            for _, rec in page:
                yield rec
            if len(page) < 10_000:
                return
            start = page[-1][0] + b"\x00"

    # -- reports -> P0 ---------------------------------------------------------------------

    def report(self, r: ReportIn) -> ReportOutcome:
        """Counts one checked report (see trigger_rules.check_report), journals it and returns
        the ack; fires the tag's P0 if this report completes the threshold."""
        rule = self.params.rule_for(r.tag)
        # The window runs on the server's clock: a report dated ahead of it (clock drift, or an
        # agent trying to push everyone else's reports out) counts as arriving now, so t_max
        # never passes now and no report can expire another agent's early.
        ts = min(r.ts_ms, self.clock())
        idem_key = records.report_idem_key(r.report_id)
        fingerprint = _fingerprint(r)
        episode_name = "r:" + r.tag
        episode_key = records.episode_key(episode_name)
        journal_key = records.journal_key(ts, r.report_id)
        record = records.report_record(
            r.report_id, r.agent_id, r.tag, r.customer_id, r.interaction_id, r.note, ts, r.ts_ms
        )
        with self._lock:
            previous = self.store.get("idem", idem_key)
            if previous is not None:
                return self._duplicate(r, previous, fingerprint)
            opens = r.tag not in self._tags and r.tag not in self._waiting
            if opens:
                self._check_openings(r.agent_id, ts)
            episode = self._episodes.get(episode_name)
            rearm = episode is not None and self._current(
                r.tag, ts, rule
            ) < self.params.rearm_below(rule)
            count = self._count(record, rule)
            fired = None
            if count >= rule.threshold and (episode is None or rearm):
                fired = self._p0(r.tag, count, rule, self._window(r.tag), ts)
            self._since_prune += 1
            prune_to = None
            if self._since_prune >= _PRUNE_EVERY:
                prune_to = ts - self.params.longest_window_ms - FUTURE_SLACK_MS

            def work(tx: WriteTxn) -> None:
                idem = records.report_idem_record(fingerprint, r.tag, fired["id"] if fired else "")
                tx.put("idem", idem_key, idem)
                tx.put("reports", journal_key, record)
                if rearm:
                    tx.delete("meta", episode_key)
                if fired:
                    tx.put("triggers", records.trigger_key(fired["id"]), fired)
                    tx.put("meta", episode_key, {"id": fired["id"]})
                if prune_to is not None:
                    _prune(tx, prune_to)

            try:
                self.store.write(work)
            except BaseException:
                self._restore(r.tag, rule)
                raise
            if opens:
                self._opened_by.setdefault(r.agent_id, []).append(ts)
            if prune_to is not None:
                self._since_prune = 0
            if rearm:
                del self._episodes[episode_name]
            if fired:
                self._episodes[episode_name] = {"id": fired["id"]}
                self._opened(fired)
        return ReportOutcome(r.report_id, False, count, rule.threshold, rule.window_s, r.tag, fired)

    def _count(self, record: dict[str, Any], rule: TagRule) -> int:
        tag, ts = record["tag"], record["t"]
        window = self._tags.get(tag)
        if window is not None:
            window.seen(record["a"], record["c"], ts)
            agent = int(hash_agent(record["a"]))  # a Python int takes the wrapper's fast path
            return self.windows.add(window.slot, agent, ts, rule.window_ms)
        window = self._waiting.pop(tag, None) or _TagWindow()
        self._waiting[tag] = window  # most recently reported last
        window.seen(record["a"], record["c"], ts)
        if self._seat(tag, window, rule, ts):
            return self.windows.count(window.slot, ts, rule.window_ms)
        self._trim_waiting(ts)
        return window.live(ts - rule.window_ms)

    def _current(self, tag: str, ts: int, rule: TagRule) -> int:
        """The tag's distinct agents in the window ending at ts, recording nothing."""
        window = self._tags.get(tag)
        if window is not None:
            return self.windows.count(window.slot, ts, rule.window_ms)
        window = self._waiting.get(tag)
        return 0 if window is None else window.live(ts - rule.window_ms)

    def _window(self, tag: str) -> _TagWindow:
        return self._tags.get(tag) or self._waiting[tag]

    def _check_openings(self, agent_id: str, ts: int) -> None:
        """Refuses a new tag from an agent that opened max_new_tags_per_agent in the window."""
        p = self.params.reports
        cutoff = ts - p.window_s * 1000
        opened = self._opened_by.get(agent_id)
        if opened is None:
            return
        opened[:] = [t for t in opened if t > cutoff]
        if not opened:
            del self._opened_by[agent_id]
        elif len(opened) >= p.max_new_tags_per_agent:
            raise ResourceExhausted(
                f"agent_id: {agent_id!r} opened {len(opened)} new tags within {p.window_s} s; "
                "report a tag that is already open or wait ([reports] max_new_tags_per_agent)"
            )
        if len(self._opened_by) > 4 * p.max_tags:  # forget agents whose openings have all left
            for agent in [a for a, times in self._opened_by.items() if times[-1] <= cutoff]:
                del self._opened_by[agent]

    def _duplicate(self, r: ReportIn, previous: dict[str, Any], fingerprint: str) -> ReportOutcome:
        if previous["fp"] != fingerprint:
            raise AlreadyExists(f"report_id: {r.report_id!r} was already used for another report")
        tag = previous["tag"]
        rule = self.params.rule_for(tag)
        count = self._current(tag, self.clock(), rule)
        trigger = None
        if previous.get("trigger"):
            trigger = self.store.get("triggers", records.trigger_key(previous["trigger"]))
        return ReportOutcome(r.report_id, True, count, rule.threshold, rule.window_s, tag, trigger)

    def _seat(self, tag: str, window: _TagWindow, rule: TagRule, ts: int) -> bool:
        """Gives a waiting tag a kernel slot: a free one, one whose window has emptied, or the
        slot of the weakest tag (fewest agents, then oldest; never one in a P0 episode) when
        this tag now has more agents than it. Its agents are replayed into the slot; the
        evicted tag waits with its agents, so neither loses a count. False: it keeps waiting."""
        cutoff = ts - rule.window_ms
        if not self._free and ts - self._evicted_at >= _EVICT_EVERY_MS:
            self._evict(ts)
            self._evicted_at = ts
        if not self._free:
            support = window.live(cutoff)
            if support < 2:  # one agent never beats a seated tag: each has one or more
                return False
            weakest = self._weakest(ts)
            if weakest is None or weakest[0] >= support:
                return False
            loser = self._tags.pop(weakest[2])
            self._free.append(loser.slot)
            loser.slot = -1
            self._waiting[weakest[2]] = loser
            self._waiting.move_to_end(weakest[2], last=False)
        window.slot = self._free.pop()
        self.windows.reset_key(window.slot)
        del self._waiting[tag]
        self._tags[tag] = window
        for agent, t in sorted(window.agents.items(), key=lambda kv: kv[1]):
            if t > cutoff:
                self.windows.add(window.slot, int(hash_agent(agent)), t, rule.window_ms)
        return True

    def _weakest(self, ts: int) -> tuple[int, int, str] | None:
        """(agents, t_max, tag) of the seated tag with the fewest agents, not in an episode."""
        t_max = self.windows.t_max
        weakest = None
        for tag, window in self._tags.items():
            if "r:" + tag in self._episodes:
                continue
            rule = self.params.rule_for(tag)
            candidate = (
                self.windows.count(window.slot, ts, rule.window_ms),
                int(t_max[window.slot]),
                tag,
            )
            if weakest is None or candidate < weakest:
                weakest = candidate
        return weakest

    def _trim_waiting(self, ts: int) -> None:
        """Keeps at most max_tags tags waiting: drops the one with the fewest live agents (the
        least recently reported among equals); the journal still holds its reports."""
        while len(self._waiting) > self.params.reports.max_tags:
            order = {tag: i for i, tag in enumerate(self._waiting)}
            victim = min(
                self._waiting,
                key=lambda tag: (
                    self._waiting[tag].live(ts - self.params.rule_for(tag).window_ms),
                    order[tag],
                ),
            )
            del self._waiting[victim]

    def _evict(self, ts: int) -> None:
        """Frees the slots of tags whose window has emptied and whose episode has ended."""
        t_max = self.windows.t_max
        for tag, window in list(self._tags.items()):
            expired = t_max[window.slot] <= ts - self.params.rule_for(tag).window_ms
            if expired and "r:" + tag not in self._episodes:
                del self._tags[tag]
                self._free.append(window.slot)

    def _restore(self, tag: str, rule: TagRule) -> None:
        """After a failed commit: recount the tag from the journal, the one source of truth."""
        window = self._tags.get(tag) or self._waiting.get(tag)
        if window is None:
            return
        if window.slot >= 0:
            self.windows.reset_key(window.slot)
        window.clear()
        for rec in self._journal(self.clock() - rule.window_ms - FUTURE_SLACK_MS):
            if rec["tag"] == tag:
                window.seen(rec["a"], rec["c"], rec["t"])
                if window.slot >= 0:
                    agent = int(hash_agent(rec["a"]))
                    self.windows.add(window.slot, agent, rec["t"], rule.window_ms)
        if not window.agents:  # its first report failed: it never opened
            if self._tags.pop(tag, None) is not None:
                self._free.append(window.slot)
            self._waiting.pop(tag, None)

    def topics_for_tag(self, tag: str) -> tuple[str, ...]:
        """The taxonomy topics a tag stands for (a topic id, or topics its text mentions)."""
        topics = self._tag_topics.get(tag)
        if topics is None:
            topics = self._topics_of(tag)
            self._tag_topics[tag] = topics
        return topics

    def _p0(
        self, tag: str, count: int, rule: TagRule, window: _TagWindow, ts: int
    ) -> dict[str, Any]:
        cutoff = ts - rule.window_ms
        agents = [(t, a) for a, t in window.agents.items() if t > cutoff]
        customers = [c for c, t in window.customers.items() if t > cutoff]
        return self._trigger(
            "P0",
            "AGENT_REPORTS",
            tag,
            count,
            rule.window_s,
            min((t for t, _ in agents), default=ts),
            ts,
            self.topics_for_tag(tag),
            [a for _, a in agents][-SAMPLE:],
            customers[-SAMPLE:],
            f"{count} agents reported “{tag}” within {rule.window_s} s",
        )

    # -- utterances and feedback -> P1 -----------------------------------------------------

    def observe(
        self,
        topics: list[str] | tuple[str, ...],
        combos: list[str] | tuple[str, ...],
        ts_ms: int,
        customer_id: str = "",
        now_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Counts one customer signal per topic and combination; returns the P1s it fired.

        With `now_ms`, a signal more than a bucket away from now (an old survey, a replayed
        utterance) counts as arriving now: trends follow what the service hears now.
        """
        if topics:
            self.trends.add(topics, ts_ms if now_ms is None else min(ts_ms, now_ms))
        if not self.weak.params.enabled or not (topics or combos):
            return []
        with self._lock:
            return self.weak.observe(topics, combos, ts_ms, customer_id, now_ms)

    # -- triggers --------------------------------------------------------------------------

    def _trigger(
        self,
        level: str,
        kind: str,
        key: str,
        count: int,
        window_s: int,
        first_ms: int,
        fired_ms: int,
        topics: tuple[str, ...],
        agents: list[str],
        customers: list[str],
        message: str,
    ) -> dict[str, Any]:
        return records.trigger_record(
            new_trigger_id(fired_ms),
            level,
            kind,
            key,
            count,
            window_s,
            first_ms,
            fired_ms,
            self._router.owner(key, topics),
            message,
            agents,
            customers,
            topics,
        )

    def _opened(self, trigger: dict[str, Any]) -> None:
        self._open[trigger["id"]] = trigger
        self._refresh_incidents()
        log.warning(
            "trigger fired",
            extra={k: trigger[k] for k in ("id", "level", "key", "count", "owner")},
        )
        trigger_fired(trigger["level"], trigger["kind"])
        self.hub.publish(trigger, level_rank(trigger["level"]))

    def _refresh_incidents(self) -> None:
        self._incidents.replace(self._open.values())

    def incidents_for(self, topics: list[str]) -> list[dict[str, Any]]:
        """Open (not resolved) triggers whose topics include one of `topics`; lock-free."""
        return self._incidents.matching(topics)

    def ack(self, trigger_id: str, by: str, resolve: bool) -> dict[str, Any]:
        """Acknowledges (or resolves) a trigger; a resolved trigger stays resolved, and the
        first acknowledgement's time and person are kept (the KPIs' time to respond)."""
        trigger_id, by = trigger_id.strip(), by.strip()
        if not trigger_id:
            raise InvalidArgument("trigger_id", "is required")
        if not by:
            raise InvalidArgument("by", "is required")
        if len(trigger_id) > 64 or len(by) > 128:
            raise InvalidArgument("trigger_id" if len(trigger_id) > 64 else "by", "too long")
        key = records.trigger_key(trigger_id)
        now = self.clock()

        def work(tx: WriteTxn) -> dict[str, Any]:
            trigger = tx.get("triggers", key)
            if trigger is None:
                raise NotFound(f"trigger_id: no trigger {trigger_id!r}")
            if trigger["state"] == "RESOLVED" or (trigger["state"] == "ACKED" and not resolve):
                return trigger  # the first response and the resolution keep their times
            if not trigger.get("acked_ms"):  # resolving an open trigger responds to it too
                trigger["acked_by"], trigger["acked_ms"] = by, now
            if resolve:
                trigger["resolved_by"], trigger["resolved_ms"] = by, now
            trigger["state"] = "RESOLVED" if resolve else "ACKED"
            tx.put("triggers", key, trigger)
            return trigger

        with self._lock:
            trigger = self.store.write(work)
            if trigger["state"] == "RESOLVED":
                self._open.pop(trigger_id, None)
            else:
                self._open[trigger_id] = trigger
            self._refresh_incidents()
        return trigger

    def list(self, state: str = "", since_ms: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Triggers fired at or after since_ms, newest first, optionally in one state."""
        if state and state not in STATES:
            raise InvalidArgument("state", f"must be one of {', '.join(STATES)}")
        if since_ms < 0:
            raise InvalidArgument("since_ms", "must be >= 0")
        if not 0 <= limit <= 1000:
            raise InvalidArgument("limit", "must be 0-1000 (0: 100)")
        limit = limit or 100
        scan = limit if not state else 100_000
        found = self.store.scan("triggers", records.since_key(since_ms), reverse=True, limit=scan)
        return [t for _, t in found if not state or t["state"] == state][:limit]

    def subscribe(self, min_level: str = "") -> Subscription:
        """A queue of triggers at `min_level` or more urgent ("" or unspecified: all)."""
        if min_level and min_level not in LEVELS:
            raise InvalidArgument("min_level", f"must be one of {', '.join(LEVELS)}")
        return self.hub.subscribe(level_rank(min_level) if min_level else len(LEVELS))

    def follow(self, sub: Subscription, since_ms: int = 0) -> Iterator[dict[str, Any] | None]:
        """Persisted triggers since `since_ms` (oldest first), then live ones, each once;
        None while idle. Subscribe first, so nothing fired during the replay is missed."""
        if since_ms < 0:
            raise InvalidArgument("since_ms", "must be >= 0")
        replayed = set()
        if since_ms:
            for _, t in self.store.scan("triggers", records.since_key(since_ms), limit=10_000):
                if level_rank(t["level"]) <= sub.max_rank:
                    replayed.add(t["id"])
                    yield t
        for t in sub.stream():
            if t is None or t["id"] not in replayed:
                yield t
