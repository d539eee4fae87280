"""One-click reports: the kernel step, the in-process report path, and report -> watcher latency."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import kernels
from bench.test_bench_kernels import PythonDistinct
from clients.client import VocClient
from server.app import build_server
from server.config import load_config
from server.engine import Engine
from server.service import VocService
from server.store import Store
from server.trigger_rules import ReportIn, TriggerParams
from server.triggers import TriggerEngine

TAGS = [f"tag {n}" for n in range(50)]
AGENTS = [f"agent-{n:04d}" for n in range(1000)]
WINDOW_MS = 300_000
EPISODES = 20


def _config(path: Path, sync: bool):
    # a threshold no stream reaches, so every report takes the steady (non-firing) path
    return load_config(
        None,
        env={},
        overrides={
            "server": {"listen": "127.0.0.1:0", "log_level": "WARNING"},
            "store": {"path": str(path), "map_size_mb": 256, "sync": sync},
            "reports": {"threshold": 1_000_000},
        },
    )


@pytest.fixture(scope="module")
def scoring() -> Engine:
    kernels.warmup()
    return Engine(load_config(None, env={}))


def _service(path: Path, scoring: Engine, sync: bool) -> VocService:
    cfg = _config(path, sync)
    clock = lambda: time.time_ns() // 1_000_000  # noqa: E731
    store = Store(path, map_size_mb=256, sync=sync)
    service = VocService(
        cfg, store, scoring, clock, triggers=TriggerEngine.open(cfg, store, scoring, clock)
    )
    return service


def _reports() -> Iterator[tuple[str, str]]:
    return itertools.cycle(zip(itertools.cycle(TAGS), AGENTS * 3, strict=False))


@pytest.mark.benchmark(group="report: kernel step")
def test_report_kernel_add(benchmark) -> None:
    """DistinctWindows.add for one report, agent already hashed (the kernel budget: <= 5 us)."""
    windows = kernels.DistinctWindows(len(TAGS), 1024)
    hashes = [int(kernels.hash_agent(a)) for a in AGENTS]
    events = itertools.cycle(
        [(n % len(TAGS), hashes[n % len(hashes)]) for n in range(len(hashes) * 3)]
    )
    ts = itertools.count(1_000_000, 7)
    benchmark.pedantic(
        lambda: windows.add(*next(events), next(ts), WINDOW_MS), rounds=50, iterations=2000
    )


@pytest.mark.benchmark(group="report: kernel step")
def test_report_kernel_step_with_hash(benchmark) -> None:
    """The engine's in-memory step: tag slot, sample ids, hash_agent, kernel add."""
    params = TriggerParams.from_config(_config(Path("/nonexistent"), False))
    engine = TriggerEngine(
        None, params, topics_of=lambda t: (), owner_of_topic=lambda t: "", clock=int
    )  # no store: this step touches memory only
    rule = params.rule_for("tag 0")
    reports = _reports()
    ts = itertools.count(1_000_000, 7)

    def step() -> int:
        tag, agent = next(reports)
        return engine._count({"tag": tag, "a": agent, "c": "", "t": next(ts)}, rule)

    benchmark.pedantic(step, rounds=50, iterations=2000)


@pytest.mark.benchmark(group="report: kernel step")
def test_report_peer_python_deques(benchmark) -> None:
    """The same window in pure Python (deque + Counter per tag), for the ratio."""
    peer = PythonDistinct()
    reports = _reports()
    ts = itertools.count(1_000_000, 7)

    def step() -> int:
        tag, agent = next(reports)
        return peer.add(hash(tag), hash(agent), next(ts), WINDOW_MS)

    benchmark.pedantic(step, rounds=50, iterations=2000)


@pytest.mark.parametrize("sync", [False, True], ids=["nosync", "fsync"])
@pytest.mark.benchmark(group="report: full in-process path (check, kernel, LMDB commit)")
def test_report_full_path(benchmark, tmp_path: Path, scoring: Engine, sync: bool) -> None:
    service = _service(tmp_path / "store", scoring, sync)
    reports = _reports()
    ids = itertools.count()

    def report() -> int:
        tag, agent = next(reports)
        return service.report(ReportIn(f"r{next(ids)}", agent, tag)).distinct_agents

    benchmark.pedantic(report, rounds=2000 if not sync else 300, iterations=1, warmup_rounds=50)
    service.store.close()


@pytest.mark.benchmark(group="report: 10th report -> trigger at a gRPC watcher")
def test_tenth_report_to_watcher_latency(benchmark, tmp_path: Path) -> None:
    cfg = load_config(
        None,
        env={},
        overrides={
            "server": {"listen": "127.0.0.1:0", "log_level": "WARNING"},
            "store": {"path": str(tmp_path / "store"), "map_size_mb": 64},
            "metrics": {"listen": ""},
            "board": {"listen": ""},
            # one episode per round from the same ten agents: the per-agent bound on new tags
            # (issue 15's flood guard) is not what this measures
            "reports": {"max_new_tags_per_agent": 1_000_000},
        },
    )
    running = build_server(cfg)
    arrived: dict[str, float] = {}
    got = threading.Condition()
    client = VocClient(f"127.0.0.1:{running.port}", timeout=10)
    client.wait_until_serving()
    call = client.watch()

    def watch() -> None:
        try:
            for trigger in call:
                with got:
                    arrived[trigger.key] = time.perf_counter()
                    got.notify_all()
        except Exception:  # noqa: BLE001 - the call is cancelled at the end
            pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    while running.service.triggers.hub.subscribers < 1:
        time.sleep(0.01)
    episode = itertools.count()

    def nine_reports() -> tuple[tuple[str], dict]:
        tag = f"latency {next(episode)}"
        for n in range(9):
            client.report(f"{tag}-{n}", f"agent-{n}", tag)
        return (tag,), {}

    latencies: list[float] = []

    def tenth(tag: str) -> None:
        sent = time.perf_counter()
        ack = client.report(f"{tag}-9", "agent-9", tag)
        assert ack.HasField("trigger")
        with got:
            assert got.wait_for(lambda: tag in arrived, timeout=5)
        latencies.append(arrived[tag] - sent)

    try:
        benchmark.pedantic(tenth, setup=nine_reports, rounds=EPISODES, iterations=1)
        latencies.sort()
        benchmark.extra_info["send_to_watcher_p50_us"] = round(latencies[len(latencies) // 2] * 1e6)
        benchmark.extra_info["send_to_watcher_max_us"] = round(latencies[-1] * 1e6)
    finally:
        call.cancel()
        client.close()
        running.stop(grace=0.5)
