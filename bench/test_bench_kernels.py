"""Kernel throughput beside the pure-Python windows they replace, in the same run."""

import math
from collections import Counter, defaultdict, deque

import numpy as np
import pytest

import kernels
from kernels import DistinctWindows, TrendSketch

N_EVENTS = 100_000
WINDOW_MS = 300_000
BUCKET_MS = 60_000
HORIZON_BUCKETS = 60.0


class PythonDistinct:
    """What one would write without Numba: per key a deque of reports and agent counts."""

    def __init__(self) -> None:
        self.reports: dict[int, deque[tuple[int, int]]] = defaultdict(deque)
        self.agents: dict[int, Counter[int]] = defaultdict(Counter)

    def add(self, key: int, agent: int, ts: int, window: int) -> int:
        reports, agents = self.reports[key], self.agents[key]
        reports.append((ts, agent))
        agents[agent] += 1
        cutoff = ts - window
        while reports[0][0] <= cutoff:
            _, old = reports.popleft()
            agents[old] -= 1
            if not agents[old]:
                del agents[old]
        return len(agents)


class PythonTrend:
    """Exact per-key counts by bucket in a dict of Counters, with the same EWMA baseline."""

    def __init__(self) -> None:
        self.counts: dict[int, Counter[int]] = defaultdict(Counter)
        self.state: dict[int, list[float]] = {}
        self.origin: int | None = None

    def add(self, key: int, ts: int, n: int, bucket_ms: int, alpha: float) -> tuple[int, float]:
        bucket = ts // bucket_ms
        self.origin = bucket if self.origin is None else min(self.origin, bucket)
        state = self.state.setdefault(key, [bucket, 0.0])
        current, base = state
        if bucket > current:
            elapsed = bucket - current
            count = self.counts[key][current]
            base = alpha**elapsed * base + (1 - alpha) * alpha ** (elapsed - 1) * count
            state[0], state[1] = bucket, base
            current = bucket
        self.counts[key][current] += n
        past = current - self.origin
        return self.counts[key][current], base / (1 - alpha**past) if past else 0.0


@pytest.fixture(scope="module")
def reports() -> dict:
    """100k one-click reports: 64 tags, 5000 agents, about 1.4 hours of traffic, in order."""
    kernels.warmup()
    rng = np.random.default_rng(0)
    events = {
        "keys": rng.integers(0, 64, N_EVENTS).astype(np.int64),
        "agents": rng.integers(-(2**63), 2**63 - 1, 5000, dtype=np.int64)[
            rng.integers(0, 5000, N_EVENTS)
        ],
        "ts": np.cumsum(rng.integers(0, 100, N_EVENTS)).astype(np.int64),
    }
    events["rows"] = list(zip(*(events[k].tolist() for k in ("keys", "agents", "ts")), strict=True))
    return events


@pytest.fixture(scope="module")
def mentions() -> dict:
    """100k topic mentions over 20k keys (Zipf-like), about 1.4 hours, in order."""
    kernels.warmup()
    rng = np.random.default_rng(1)
    key_hashes = rng.integers(0, 2**64 - 1, 20_000, dtype=np.uint64)
    picks = np.minimum(rng.zipf(1.3, N_EVENTS) - 1, key_hashes.size - 1)
    events = {
        "hashes": key_hashes[picks],
        "ts": np.cumsum(rng.integers(0, 100, N_EVENTS)).astype(np.int64),
    }
    events["rows"] = list(zip(events["hashes"].tolist(), events["ts"].tolist(), strict=True))
    return events


def record_rate(benchmark) -> None:
    benchmark.extra_info["events_per_s"] = round(N_EVENTS / benchmark.stats.stats.mean)


@pytest.mark.benchmark(group="distinct: 100k reports")
def test_distinct_kernel_batch(benchmark, reports: dict) -> None:
    def run(windows: DistinctWindows) -> np.ndarray:
        return windows.add_batch(reports["keys"], reports["agents"], reports["ts"], WINDOW_MS)

    counts = benchmark.pedantic(
        run, setup=lambda: ((DistinctWindows(64),), {}), rounds=10, iterations=1
    )
    assert counts[-1] > 0
    record_rate(benchmark)


@pytest.mark.benchmark(group="distinct: 100k reports")
def test_distinct_kernel_per_call(benchmark, reports: dict) -> None:
    def run(windows: DistinctWindows) -> int:
        add = windows.add
        for key, agent, ts in reports["rows"]:
            count = add(key, agent, ts, WINDOW_MS)
        return count

    benchmark.pedantic(run, setup=lambda: ((DistinctWindows(64),), {}), rounds=5, iterations=1)
    record_rate(benchmark)


@pytest.mark.benchmark(group="distinct: 100k reports")
def test_distinct_python_deques(benchmark, reports: dict) -> None:
    def run(windows: PythonDistinct) -> int:
        add = windows.add
        for key, agent, ts in reports["rows"]:
            count = add(key, agent, ts, WINDOW_MS)
        return count

    benchmark.pedantic(run, setup=lambda: ((PythonDistinct(),), {}), rounds=5, iterations=1)
    record_rate(benchmark)


@pytest.mark.benchmark(group="trend: 100k mentions")
def test_trend_kernel_batch(benchmark, mentions: dict) -> None:
    def run(sketch: TrendSketch) -> tuple[np.ndarray, np.ndarray]:
        return sketch.add_batch(mentions["hashes"], mentions["ts"], 1, BUCKET_MS, HORIZON_BUCKETS)

    benchmark.pedantic(run, setup=lambda: ((TrendSketch(),), {}), rounds=10, iterations=1)
    record_rate(benchmark)


@pytest.mark.benchmark(group="trend: 100k mentions")
def test_trend_kernel_per_call(benchmark, mentions: dict) -> None:
    def run(sketch: TrendSketch) -> tuple[int, float]:
        add = sketch.add
        for key_hash, ts in mentions["rows"]:
            estimate = add(key_hash, ts, 1, BUCKET_MS, HORIZON_BUCKETS)
        return estimate

    benchmark.pedantic(run, setup=lambda: ((TrendSketch(),), {}), rounds=5, iterations=1)
    record_rate(benchmark)


@pytest.mark.benchmark(group="trend: 100k mentions")
def test_trend_python_counters(benchmark, mentions: dict) -> None:
    alpha = math.exp(-1.0 / HORIZON_BUCKETS)

    def run(trend: PythonTrend) -> tuple[int, float]:
        add = trend.add
        for key_hash, ts in mentions["rows"]:
            estimate = add(key_hash, ts, 1, BUCKET_MS, alpha)
        return estimate

    benchmark.pedantic(run, setup=lambda: ((PythonTrend(),), {}), rounds=5, iterations=1)
    record_rate(benchmark)
