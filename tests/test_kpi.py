"""The outer loop's KPIs: on-time response and closure, closed loop, times to ack and resolve."""

from __future__ import annotations

import json

import grpc
import pytest

from clients import cli
from clients.client import VocClient
from server.config import ConfigError
from server.kpi import kpis
from server.sla import SlaParams

H = 3_600_000
NOW = 1_800_000_000_000


def trigger(owner: str, fired: int, acked: int = 0, resolved: int = 0, level: str = "P1", **kw):
    state = "RESOLVED" if resolved else "ACKED" if acked else "OPEN"
    return {"id": f"T{fired}", "level": level, "owner": owner, "key": kw.get("key", "k"),
            "topics": kw.get("topics", []), "fired_ms": fired, "state": state,
            "acked_ms": acked, "resolved_ms": resolved}  # fmt: skip


def test_on_time_late_and_overdue_per_owner() -> None:
    sla = SlaParams(respond_p1_s=2 * 3600, resolve_p1_s=48 * 3600)
    t0 = NOW - 100 * H
    rows = kpis(
        [
            trigger("product", t0, acked=t0 + H, resolved=t0 + 24 * H),  # both on time
            trigger("product", t0, acked=t0 + 3 * H, resolved=t0 + 60 * H),  # both late
            trigger("product", t0),  # never answered: overdue now
            trigger("cx", NOW - H),  # open, inside its deadline
        ],
        sla,
        NOW,
    )
    product, cx = rows
    assert product["group"] == "product" and product["triggers"] == 3
    assert (product["responded"], product["responded_on_time"]) == (2, 1)
    assert (product["resolved"], product["resolved_on_time"], product["overdue"]) == (2, 1, 1)
    assert product["on_time_response"] == pytest.approx(1 / 3, abs=1e-3)
    assert product["closed_loop"] == pytest.approx(2 / 3, abs=1e-3)
    assert product["median_min_to_ack"] == 120.0 and product["median_min_to_resolve"] == 2520.0
    assert (cx["triggers"], cx["overdue"], cx["on_time_response"]) == (1, 0, 0.0)


def test_by_topic_counts_a_trigger_under_each_topic_or_its_tag() -> None:
    rows = kpis(
        [
            trigger("a", NOW - H, topics=["payment.failure", "app.crash"]),
            trigger("a", NOW - H, key="支付失败"),
        ],
        SlaParams(),
        NOW,
        group_by="topic",
    )
    assert {r["group"]: r["triggers"] for r in rows} == {
        "payment.failure": 1,
        "app.crash": 1,
        "支付失败": 1,
    }


def test_red_triggers_use_the_red_deadline() -> None:
    sla = SlaParams(respond_p1_s=48 * 3600, respond_red_s=2 * 3600)
    t0 = NOW - 10 * H
    late_if_red = [trigger("x", t0, acked=t0 + 3 * H)]
    assert kpis(late_if_red, sla, NOW)[0]["responded_on_time"] == 1
    assert kpis(late_if_red, sla, NOW, red=lambda t: True)[0]["responded_on_time"] == 0


def test_kpis_over_grpc_and_the_cli(server, client: VocClient, capsys) -> None:
    acks = [client.report(f"kpi-{i}", f"agent-{i}", "账户被盗") for i in range(10)]
    fired = acks[-1].trigger
    acked = client.ack_trigger(fired.trigger_id, "lead-1")
    resolved = client.ack_trigger(fired.trigger_id, "lead-2", resolve=True)
    assert (
        resolved.acked_ms == acked.acked_ms and resolved.acked_by == "lead-1"
    )  # first response kept
    assert resolved.resolved_by == "lead-2" and resolved.resolved_ms >= acked.acked_ms
    report = client.trigger_kpis()
    (row,) = [r for r in report.rows if r.group == fired.owner]
    assert row.triggers >= 1 and row.resolved >= 1 and row.closed_loop > 0
    by_topic = client.trigger_kpis(group_by="topic")
    assert by_topic.group_by == "topic" and by_topic.rows
    with pytest.raises(grpc.RpcError) as bad:
        client.trigger_kpis(group_by="colour")
    assert (
        bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "group_by" in bad.value.details()
    )
    target = f"127.0.0.1:{server.port}"
    assert cli.main(["--target", target, "--json", "kpi", "--since", "1d"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert any(r["group"] == fired.owner for r in printed["rows"])
    assert cli.main(["--target", target, "kpi", "--by", "topic"]) == 0
    assert "on-time resp" in capsys.readouterr().out


def test_owner_deadlines_override_the_defaults() -> None:
    sla = SlaParams.from_section(
        {"respond_p1_s": 172_800, "owners": {"cx-supervisor": {"respond_p1_s": 8 * 3600}}}
    )
    t0 = NOW - 100 * H
    answered_in_10h = [
        trigger("cx-supervisor", t0, acked=t0 + 10 * H),
        trigger("product-eng", t0, acked=t0 + 10 * H),
    ]
    rows = {r["group"]: r for r in kpis(answered_in_10h, sla, NOW)}
    assert rows["cx-supervisor"]["responded_on_time"] == 0  # 8 h for the supervisor
    assert rows["product-eng"]["responded_on_time"] == 1  # the 48 h default
    with pytest.raises(ConfigError, match=r"\[sla.owners.x\]"):
        SlaParams.from_section({"owners": {"x": {"respond_p1_s": 0}}})
    with pytest.raises(ConfigError, match="deadline keys"):
        SlaParams.from_section({"owners": {"x": {"colour": 1}}})
