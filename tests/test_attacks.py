"""A hostile or buggy client against the report windows, the tag slots and live interactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kernels
from server.config import ConfigError
from server.engine import Engine
from server.errors import ResourceExhausted
from server.trigger_rules import ReportIn, TriggerParams
from tests.conftest import make_config
from tests.test_triggers import T0, Harness


@pytest.fixture(scope="module")
def scoring() -> Engine:
    kernels.warmup()
    return Engine(make_config(Path("/nonexistent")))


@pytest.fixture
def harness(tmp_path: Path, scoring: Engine) -> Iterator[Harness]:
    h = Harness(tmp_path / "store", scoring)
    yield h
    h.store.close()


# -- windows that a single report cannot bend -------------------------------------------------


def test_a_future_dated_report_cannot_push_nine_agents_out_of_the_window(
    harness: Harness,
) -> None:
    """The 9 + 1 attack: nine agents report, one agent dates its report now + 299 s (inside the
    clock slack); the window must not move past the server's clock, so nobody's report expires
    early and the tenth real agent still finds the P0 fired."""
    for i in range(9):
        ack = harness.report(f"r{i}", f"A{i}")
    assert ack.distinct_agents == 9
    harness.clock.now += 10_000
    attack = harness.service.report(_report("x1", "X", harness.clock.now + 299_000))
    assert attack.distinct_agents == 10  # counted now, beside the nine, never instead of them
    last = harness.report("r9", "A9")
    assert last.distinct_agents == 11
    fired = harness.triggers.list()
    assert [t["key"] for t in fired] == ["支付失败"] and fired[0]["fired_ms"] <= harness.clock.now


def test_a_late_dated_report_lowers_nobody(harness: Harness) -> None:
    for i in range(9):
        harness.report(f"r{i}", f"A{i}")
    late = harness.service.report(_report("x1", "X", T0 - 299_000))
    assert late.distinct_agents == 10 and late.trigger is not None


def test_future_reports_are_journaled_at_server_time_and_rebuilt_alike(harness: Harness) -> None:
    harness.service.report(_report("x1", "X", T0 + 299_000))
    for i in range(5):
        harness.report(f"r{i}", f"A{i}")
    harness.restart()
    harness.clock.now = T0 + 299_000  # all six were counted at T0: still in the window
    assert harness.report("r5", "A5").distinct_agents == 7
    harness.clock.now = T0 + 300_500
    assert harness.report("r6", "A6").distinct_agents == 2  # A5 and A6: the T0 six are out


def _report(rid: str, agent: str, ts_ms: int, tag: str = "支付失败") -> ReportIn:
    return ReportIn(rid, agent, tag, ts_ms=ts_ms)


# -- tag slots no agent can exhaust -----------------------------------------------------------


def test_one_agent_flooding_junk_tags_cannot_block_a_p0(harness: Harness) -> None:
    """255 junk tags from one agent: past its per-agent bound they are refused, naming the
    agent and the config key; ten other agents then fire the P0 on 支付失败 as usual."""
    quota = harness.triggers.params.reports.max_new_tags_per_agent
    refused = 0
    for i in range(255):
        try:
            harness.report(f"junk-{i}", "JUNK", f"junk tag {i}")
        except ResourceExhausted as e:
            assert "JUNK" in str(e) and "max_new_tags_per_agent" in str(e)
            refused += 1
    assert refused == 255 - quota
    acks = [harness.report(f"p{i}", f"A{i}") for i in range(10)]
    assert [a.distinct_agents for a in acks] == list(range(1, 11))
    assert acks[-1].trigger is not None and acks[-1].trigger["key"] == "支付失败"
    # the junk agent may still report tags that already have a window
    assert harness.report("junk-more", "JUNK").distinct_agents == 11


def test_the_bound_is_per_window(tmp_path: Path, scoring: Engine) -> None:
    h = Harness(tmp_path / "s", scoring, reports={"max_new_tags_per_agent": 2})
    h.report("j1", "J", "junk one")
    h.report("j2", "J", "junk two")
    with pytest.raises(ResourceExhausted, match="agent_id"):
        h.report("j3", "J", "junk three")
    h.clock.now += 300_000  # its openings left the window
    assert h.report("j4", "J", "junk three").distinct_agents == 1
    h.store.close()


def test_many_junk_agents_filling_every_slot_cannot_block_a_p0(
    tmp_path: Path, scoring: Engine
) -> None:
    """With every kernel slot held by a one-agent junk tag, a tag that several agents report
    takes the slot of the weakest tag; a tag with more agents is never evicted for junk."""
    h = Harness(tmp_path / "s", scoring, reports={"max_tags": 4, "max_new_tags_per_agent": 2})
    for i in range(3):
        assert h.report(f"s{i}", f"S{i}", "网络故障").distinct_agents == i + 1
    for j in range(20):  # 40 junk tags from 20 agents, far more than the 4 slots
        for k in range(2):
            h.report(f"j{j}-{k}", f"J{j}", f"junk {j} {k}")
    acks = [h.report(f"p{i}", f"A{i}") for i in range(10)]
    assert [a.distinct_agents for a in acks] == list(range(1, 11))
    assert acks[-1].trigger is not None and acks[-1].trigger["count"] == 10
    # the three-agent tag kept its window through the flood
    assert h.report("s3", "S3", "网络故障").distinct_agents == 4
    h.store.close()


def test_a_tag_waiting_for_a_slot_keeps_its_agents_across_a_restart(
    tmp_path: Path, scoring: Engine
) -> None:
    h = Harness(tmp_path / "s", scoring, reports={"max_tags": 2, "threshold": 3})
    for i in range(2):
        h.report(f"s{i}", f"S{i}", "tag one")
        h.report(f"t{i}", f"S{i}", "tag two")
    assert h.report("w0", "W0", "tag three").distinct_agents == 1  # waits: 1 < 2
    h.restart()
    assert h.report("w1", "W1", "tag three").distinct_agents == 2
    ack = h.report("w2", "W2", "tag three")
    assert ack.distinct_agents == 3 and ack.trigger is not None
    assert h.report("s2", "S2", "tag one").distinct_agents == 3  # tag one still counted
    h.store.close()


def test_bad_new_tag_bound_is_named() -> None:
    cfg = make_config(Path("/nonexistent"), reports={"max_new_tags_per_agent": 0})
    with pytest.raises(ConfigError, match="max_new_tags_per_agent"):
        TriggerParams.from_config(cfg)
