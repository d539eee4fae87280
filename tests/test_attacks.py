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
