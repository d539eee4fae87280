"""Trigger rules without gRPC: P0 episodes and re-arm, P1 weak signals, routing, durability, hub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import kernels
from server.config import ConfigError
from server.engine import Engine
from server.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from server.feedback import FeedbackIn
from server.hub import Hub
from server.service import VocService
from server.store import Store
from server.trigger_rules import ReportIn, Router, RoutingParams, TriggerParams, normalize_tag
from server.triggers import TriggerEngine
from tests.conftest import make_config

T0 = 1_800_000_000_000  # a minute boundary, ms
MIN = 60_000


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture(scope="module")
def scoring() -> Engine:
    kernels.warmup()
    return Engine(make_config(Path("/nonexistent")))


class Harness:
    """A VocService with a trigger engine over one store, on a clock the test moves."""

    def __init__(self, path: Path, scoring: Engine, **sections: dict) -> None:
        self.cfg = make_config(path, **sections)
        self.scoring = scoring
        self.clock = Clock()
        self.store = Store(path, map_size_mb=64)
        self.service = self._service()

    def _service(self) -> VocService:
        service = VocService(
            self.cfg,
            self.store,
            self.scoring,
            self.clock,
            triggers=TriggerEngine.open(self.cfg, self.store, self.scoring, self.clock),
        )
        return service

    @property
    def triggers(self) -> TriggerEngine:
        return self.service.triggers

    def restart(self) -> None:
        """A new engine over the same store: what a process restart rebuilds."""
        self.service = self._service()

    def report(self, rid: str, agent: str, tag: str = "支付失败", **kw):
        return self.service.report(ReportIn(rid, agent, tag, ts_ms=self.clock.now, **kw))

    def complaint(self, fid: str, customer: str, text: str) -> None:
        fb = FeedbackIn(fid, customer, "COMPLAINT", text=text, ts_ms=self.clock.now)
        self.service.feedback(fb)


@pytest.fixture
def harness(tmp_path: Path, scoring: Engine) -> Iterator[Harness]:
    h = Harness(tmp_path / "store", scoring)
    yield h
    h.store.close()


def test_tags_are_normalised() -> None:
    assert normalize_tag(" 支付失败 ") == normalize_tag("支付失败") == "支付失败"
    assert normalize_tag("  Payment\tFAILED ") == "payment failed"
    assert normalize_tag("ＡＰＰ　崩溃") == "app 崩溃"  # NFKC: full-width letters and space


def test_ten_distinct_agents_fire_one_p0(harness: Harness) -> None:
    fired = []
    for i in range(12):
        harness.clock.now += 1000
        tag = " 支付失败 " if i % 2 else "支付失败"
        ack = harness.report(f"r{i}", f"A{i}", tag)
        assert ack.tag == "支付失败" and ack.distinct_agents == i + 1
        assert (ack.threshold, ack.window_s) == (10, 300)
        if ack.trigger:
            fired.append((i, ack.trigger))
    assert len(fired) == 1
    i, trigger = fired[0]
    assert i == 9 and trigger["level"] == "P0" and trigger["kind"] == "AGENT_REPORTS"
    assert trigger["count"] == 10 and trigger["owner"] == "tech-oncall"
    assert trigger["agents"] == [f"A{n}" for n in range(10)]
    assert trigger["first_ms"] == T0 + 1000 and trigger["fired_ms"] == T0 + 10_000
    assert [t["id"] for t in harness.triggers.list()] == [trigger["id"]]


def test_repeated_agent_counts_once(harness: Harness) -> None:
    for i in range(15):
        harness.clock.now += 1000
        ack = harness.report(f"r{i}", "A1")
        assert ack.distinct_agents == 1 and ack.trigger is None
    assert harness.triggers.list() == []


def test_duplicate_report_id_counts_once(harness: Harness) -> None:
    assert harness.report("r1", "A1").distinct_agents == 1
    again = harness.report("r1", "A1")
    assert again.duplicate and again.distinct_agents == 1
    assert harness.report("r2", "A2").distinct_agents == 2
    assert harness.store.entries("reports") == 2
    with pytest.raises(AlreadyExists, match="report_id"):
        harness.report("r1", "A9")


def test_duplicate_of_the_firing_report_returns_its_trigger(harness: Harness) -> None:
    for i in range(10):
        ack = harness.report(f"r{i}", f"A{i}")
    retry = harness.report("r9", "A9")
    assert retry.duplicate and retry.trigger["id"] == ack.trigger["id"]


@pytest.mark.parametrize(
    ("report", "field"),
    [
        (ReportIn("", "A1", "支付失败"), "report_id"),
        (ReportIn("r1", " ", "支付失败"), "agent_id"),
        (ReportIn("r1", "A1", "   "), "tag"),
        (ReportIn("r1", "A1", "x" * 65), "tag"),
        (ReportIn("r1", "A1", "支付失败", note="n" * 501), "note"),
        (ReportIn("r1", "A1", "支付失败", ts_ms=T0 - 301_000), "ts_ms"),
        (ReportIn("r1", "A1", "支付失败", ts_ms=T0 + 3_600_000), "ts_ms"),
    ],
)
def test_bad_report_names_the_field_and_writes_nothing(
    harness: Harness, report: ReportIn, field: str
) -> None:
    with pytest.raises(InvalidArgument) as info:
        harness.service.report(report)
    assert info.value.field == field
    assert harness.store.entries("reports") == harness.store.entries("triggers") == 0


def test_p0_rearms_only_after_the_count_falls_back(harness: Harness) -> None:
    def at(seconds: float, rid: str, agent: str, tag: str):
        harness.clock.now = T0 + int(seconds * 1000)
        return harness.report(rid, agent, tag)

    for tag in ("tag a", "tag b"):  # each fired by A0..A9 reporting at 1..10 s
        acks = [at(i + 1, f"{tag}-{i}", f"A{i}", tag) for i in range(10)]
        assert acks[-1].trigger is not None
    # tag a at 305.5 s: A5..A9 are still in the window, 5 of 10, not fallen back: five new
    # agents bring it to 10 again within the same episode, and nothing fires
    acks = [at(305.5, f"a2-{i}", f"B{i}", "tag a") for i in range(5)]
    assert acks[-1].distinct_agents == 10 and all(a.trigger is None for a in acks)
    # tag b at 306.5 s: only A6..A9 are left (4 < 5): the tag re-arms and fires again at 10
    acks = [at(306.5, f"b2-{i}", f"B{i}", "tag b") for i in range(6)]
    assert acks[-1].distinct_agents == 10 and acks[-1].trigger is not None
    assert all(a.trigger is None for a in acks[:-1])
    assert sorted(t["key"] for t in harness.triggers.list()) == ["tag a", "tag b", "tag b"]


def test_per_tag_threshold_override(tmp_path: Path, scoring: Engine) -> None:
    h = Harness(tmp_path / "s", scoring, reports={"tags": {" 支付失败": {"threshold": 3}}})
    acks = [h.report(f"r{i}", f"A{i}") for i in range(3)]
    assert acks[-1].trigger is not None and acks[-1].threshold == 3
    other = [h.report(f"o{i}", f"A{i}", "退款太慢") for i in range(9)]
    assert all(a.trigger is None and a.threshold == 10 for a in other)
    h.store.close()


def test_bad_trigger_config_is_named() -> None:
    for sections, where in [
        ({"reports": {"threshold": 0}}, "[reports] threshold"),
        ({"reports": {"tags": {"x": {"window_s": 0}}}}, '[reports.tags."x"] window_s'),
        ({"weak_signals": {"width": 1000}}, "[weak_signals] width"),
        ({"routing": {"owners": {"payment": 3}}}, "[routing] owners"),
    ]:
        with pytest.raises(ConfigError, match="^" + re.escape(where)):
            TriggerParams.from_config(make_config(Path("/nonexistent"), **sections))


def test_routing_prefers_config_prefixes_then_taxonomy_then_default(scoring: Engine) -> None:
    router = Router(RoutingParams(), scoring.current.lexicon.owner)
    assert router.owner("支付失败", ("payment.failure",)) == "tech-oncall"
    assert router.owner("payment gateway down", ()) == "tech-oncall"
    assert router.owner("logistics.delay", ("logistics.delay",)) == "logistics-ops"
    assert router.owner("product.bug", ("product.bug",)) == "product-eng"
    assert router.owner("app crash", ()) == "cx-duty"


def test_restart_rebuilds_the_window_and_never_fires_twice(harness: Harness) -> None:
    for i in range(6):
        harness.clock.now += 1000
        harness.report(f"r{i}", f"A{i}")
    harness.restart()
    acks = []
    for i in range(6, 10):
        harness.clock.now += 1000
        acks.append(harness.report(f"r{i}", f"A{i}"))
    assert [a.distinct_agents for a in acks] == [7, 8, 9, 10]
    assert [a.trigger is not None for a in acks] == [False, False, False, True]
    harness.restart()
    harness.clock.now += 1000
    late = harness.report("r10", "A10")
    assert late.distinct_agents == 11 and late.trigger is None
    assert harness.report("r3", "A3").duplicate  # idempotency survives the restart too
    assert len(harness.triggers.list()) == 1


def test_journal_is_pruned_past_the_longest_window(harness: Harness) -> None:
    for i in range(5):
        harness.report(f"r{i}", f"A{i}")
    assert harness.store.entries("reports") == 5
    harness.clock.now += 600_000 + 300_000
    harness.restart()
    assert harness.store.entries("reports") == 0
    assert harness.store.get("idem", b"r:r1") is None
    assert harness.report("r1", "A1").distinct_agents == 1


def test_a_tag_past_the_slots_waits_and_is_counted(tmp_path: Path, scoring: Engine) -> None:
    """More live tags than kernel slots: the extra tag is accepted and counted while it waits
    for a slot (issue 15: a full table no longer refuses new tags)."""
    h = Harness(tmp_path / "s", scoring, reports={"max_tags": 2})
    h.report("r1", "A1", "tag one")
    h.report("r2", "A1", "tag two")
    assert h.report("r3", "A1", "tag three").distinct_agents == 1
    assert h.report("r3b", "A2", "tag three").distinct_agents == 2  # takes a slot now
    h.clock.now += 301_000  # every window empty: the slots are reused
    assert h.report("r4", "A1", "tag four").distinct_agents == 1
    assert h.report("r5", "A2", "tag three").distinct_agents == 1
    h.store.close()


# -- weak signals ----------------------------------------------------------------------------


def test_complaint_burst_on_a_quiet_key_fires_one_p1(harness: Harness) -> None:
    engine = harness.triggers
    # ten quiet minutes: a busy steady topic (6 a minute) and a rare one (once in a while)
    for minute in range(10):
        harness.clock.now = T0 + minute * MIN
        for n in range(6):
            assert engine.observe(["logistics.delay"], (), harness.clock.now + n, f"C{n}") == []
        if minute % 5 == 0:
            harness.complaint(f"q{minute}", "C0", "支付失败了")
    # minute 10: a burst of payment complaints from different customers
    harness.clock.now = T0 + 10 * MIN
    fired = []
    for n in range(8):
        harness.clock.now += 1000
        harness.complaint(f"b{n}", f"C{n}", "付款失败了")
        fired = harness.triggers.list(since_ms=T0)
        if n < 4:
            assert fired == []
    assert len(fired) == 1
    p1 = fired[0]
    assert (p1["level"], p1["kind"], p1["key"]) == ("P1", "WEAK_SIGNAL", "payment.failure")
    assert p1["count"] == 5 and p1["owner"] == "tech-oncall" and p1["window_s"] == 60
    assert p1["customers"][-1] == "C4"
    # the steady busy topic, also at 6 in this minute, stays silent
    for _ in range(6):
        assert engine.observe(["logistics.delay"], (), harness.clock.now, "C1") == []


def test_combination_burst_fires_p1_and_rearms_after_quiet_buckets(harness: Harness) -> None:
    engine = harness.triggers
    combo = "product.phone+black_screen"

    def minute(m: int, events: int) -> list[dict]:
        fired = []
        for n in range(events):
            harness.clock.now = T0 + m * MIN + n
            ts = T0 + m * MIN + n
            fired += harness.service.triggers.observe([], [combo], ts, f"C{n}", now_ms=ts)
        return fired

    for m in range(4):  # warm-up: history exists before anything may fire
        minute(m, 0)
        engine.observe(["service.wait"], (), T0 + m * MIN, "C0")
    assert [t["key"] for t in minute(4, 6)] == [combo]
    assert minute(5, 8) == [] and minute(6, 10) == []  # the same episode goes on
    for m in range(7, 18):  # quiet for more than rearm_buckets (10)
        engine.observe(["service.wait"], (), T0 + m * MIN, "C0")
    again = minute(18, 30)
    assert len(again) == 1 and again[0]["owner"] == "cx-duty"
    assert again[0]["count"] >= 5


def test_no_weak_signal_before_the_sketch_has_history(harness: Harness) -> None:
    fired = []
    for n in range(20):
        fired += harness.triggers.observe(["payment.failure"], (), T0 + n, "C1")
    assert fired == []


def test_p1_episode_survives_restart(harness: Harness) -> None:
    engine = harness.triggers
    for m in range(4):
        engine.observe(["service.wait"], (), T0 + m * MIN, "C0")
    fired = [t for n in range(6) for t in engine.observe(["network.outage"], (), T0 + 4 * MIN + n)]
    assert len(fired) == 1
    harness.restart()
    engine = harness.triggers
    for m in range(5, 9):  # the rebuilt sketch gathers history again
        engine.observe(["service.wait"], (), T0 + m * MIN, "C0")
    # the burst goes on within rearm_buckets of the persisted episode: no second P1
    burst = [t for n in range(9) for t in engine.observe(["network.outage"], (), T0 + 9 * MIN + n)]
    assert burst == []


# -- cards, acks, lists ----------------------------------------------------------------------


def test_open_trigger_shows_on_the_card_of_a_customer_with_that_topic(harness: Harness) -> None:
    harness.complaint("f1", "C-pay", "支付失败了好几次")
    harness.complaint("f2", "C-ship", "快递一周了还没到")
    for i in range(10):
        ack = harness.report(f"r{i}", f"A{i}", "支付失败")
    trigger = ack.trigger
    card = harness.service.card("C-pay", "", "zh")
    assert [t["id"] for t in card.active_incidents] == [trigger["id"]]
    assert any("支付失败" in a and "P0" in a for a in card.alerts)
    assert harness.service.card("C-ship", "", "zh").active_incidents == []
    # a free-text tag whose words match the topic works the same way
    for i in range(10):
        harness.report(f"s{i}", f"B{i}", "Payment failed")
    assert len(harness.service.card("C-pay", "", "en").active_incidents) == 2
    harness.triggers.ack(trigger["id"], "ops-lead", resolve=False)
    assert len(harness.service.card("C-pay", "", "zh").active_incidents) == 2  # acked: still on
    harness.triggers.ack(trigger["id"], "ops-lead", resolve=True)
    assert len(harness.service.card("C-pay", "", "zh").active_incidents) == 1


def test_ack_resolve_and_list(harness: Harness) -> None:
    for i in range(10):
        ack = harness.report(f"r{i}", f"A{i}")
    tid = ack.trigger["id"]
    harness.clock.now += 5000
    acked = harness.triggers.ack(tid, "wang", resolve=False)
    assert (acked["state"], acked["acked_by"], acked["acked_ms"]) == ("ACKED", "wang", T0 + 5000)
    assert harness.triggers.ack(tid, "li", resolve=True)["state"] == "RESOLVED"
    assert harness.triggers.ack(tid, "zhao", resolve=False)["state"] == "RESOLVED"
    assert [t["id"] for t in harness.triggers.list(state="RESOLVED")] == [tid]
    assert harness.triggers.list(state="OPEN") == []
    assert harness.triggers.list(since_ms=T0 + 60_000) == []
    with pytest.raises(NotFound, match="trigger_id"):
        harness.triggers.ack("T0000000000000-nope", "wang", resolve=False)
    with pytest.raises(InvalidArgument, match="^by"):
        harness.triggers.ack(tid, " ", resolve=False)
    with pytest.raises(InvalidArgument, match="^limit"):
        harness.triggers.list(limit=5000)


def test_restart_keeps_open_triggers_on_cards(harness: Harness) -> None:
    harness.complaint("f1", "C-pay", "支付失败了")
    for i in range(10):
        harness.report(f"r{i}", f"A{i}")
    harness.restart()
    assert len(harness.service.card("C-pay", "", "zh").active_incidents) == 1


# -- fan-out -------------------------------------------------------------------------------


def test_slow_watcher_is_dropped_without_blocking_the_publisher() -> None:
    hub = Hub(capacity=2, max_subscribers=2)
    slow, fast = hub.subscribe(max_rank=3), hub.subscribe(max_rank=3)
    with pytest.raises(ResourceExhausted, match="too many"):
        hub.subscribe(max_rank=3)
    fast_stream = fast.stream(poll_s=0.01)
    received = []
    for n in range(5):
        hub.publish({"id": str(n)}, rank=0)  # never waits, even with slow's queue full
        received.append(next(fast_stream)["id"])
    assert received == ["0", "1", "2", "3", "4"]
    with pytest.raises(ResourceExhausted, match="since_ms"):
        next(slow.stream(poll_s=0.01))
    assert hub.subscribers == 1
    p1_only = hub.subscribe(max_rank=1)
    hub.publish({"id": "p2"}, rank=2)
    assert next(p1_only.stream(poll_s=0.01)) is None  # filtered by level: nothing, just a tick
    hub.close()
    assert list(fast_stream) == []
