"""The CTI load simulator against a real server: histograms per RPC, errors by code, a plot."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from clients import cli, load
from server.app import Running


def test_open_loop_run_writes_summary_json_and_plot(server: Running, tmp_path: Path) -> None:
    # card_invalid (an empty customer id) makes at least one error code appear whatever the
    # server implements by now.
    mix = "card_known=6,card_unknown=2,card_invalid=2,utterance=4,stream=1,csat=3,nps=2,report=2"
    argv = ["--target", f"127.0.0.1:{server.port}", "--mode", "open", "--rate", "60"]
    argv += ["--duration", "1.5", "--requests", "500", "--concurrency", "4", "--seed", "3"]
    argv += ["--mix", mix, "--out", str(tmp_path), "--name", "run"]

    assert load.main(argv) == 0

    summary = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert summary["mode"] == "open" and summary["latency_unit"] == "us"
    rpcs = summary["rpcs"]
    for rpc in ("GetSummaryCard", "RecordFeedback"):
        assert rpcs[rpc]["ok"] > 0
        assert rpcs[rpc]["latency_us"]["p50"] <= rpcs[rpc]["latency_us"]["max"]
        assert set(rpcs[rpc]["latency_us"]) >= {"p50", "p90", "p99", "p99.9", "max"}
        assert rpcs[rpc]["hdr"]
    assert rpcs["GetSummaryCard"]["errors"].get("INVALID_ARGUMENT", 0) > 0
    codes = set(grpc.StatusCode.__members__)
    for r in rpcs.values():
        assert set(r["errors"]) <= codes
        assert r["calls"] == r["ok"] + sum(r["errors"].values())
    assert sum(r["calls"] for r in rpcs.values()) == summary["calls"]
    assert (
        summary["errors"]["INVALID_ARGUMENT"]
        >= rpcs["GetSummaryCard"]["errors"]["INVALID_ARGUMENT"]
    )
    assert (tmp_path / "run.png").stat().st_size > 0
    assert "| GetSummaryCard |" in (tmp_path / "run.md").read_text(encoding="utf-8")


def test_workload_is_deterministic_and_ids_unique() -> None:
    first = load.Workload(seed=5, run_id="r")
    second = load.Workload(seed=5, run_id="r")
    kinds = [first.next().kind for _ in range(300)]
    assert kinds == [second.next().kind for _ in range(300)]
    assert {"card_known", "utterance", "csat", "report"} <= set(kinds)


@pytest.mark.parametrize(
    "target", ["10.1.2.3:50051", "example.com:443", "0.0.0.0:50051", "ipv4:192.168.0.1:1"]
)
def test_non_loopback_target_is_refused(target: str, tmp_path: Path) -> None:
    assert load.main(["--target", target, "--out", str(tmp_path), "--duration", "1"]) == 2
    assert not any(tmp_path.iterdir())
    assert load.check_target(target, allow_remote=True) == target


@pytest.mark.parametrize(
    "target", ["127.0.0.1:50051", "localhost:1", "[::1]:50051", "ipv4:127.0.0.2:9", "unix:/tmp/s"]
)
def test_loopback_targets_are_accepted(target: str) -> None:
    assert load.check_target(target) == target


def test_cli_bench_forwards_to_the_load_simulator(tmp_path: Path) -> None:
    argv = ["--target", "192.0.2.1:50051", "bench", "--duration", "1", "--out", str(tmp_path)]
    assert cli.main(argv) == 2
