"""Kernels against the references in tests/naive.py, plus edges, the detector and validation."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kernels
from kernels import DistinctWindows, TrendSketch, hash_agent, hash_key, is_anomalous
from kernels.distinct import _add, _find
from kernels.trend import _add as _trend_add
from tests.naive import NaiveDistinct, NaiveTrend, naive_is_anomalous

REPO = Path(__file__).resolve().parents[1]
AGENTS = [0, 1, 2, 3, 4, 5, -1, 2**63 - 1, -(2**63), 1_234_567_890_123]
HYPOTHESIS = settings(max_examples=150, deadline=None)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    kernels.warmup()


def check_table(windows: DistinctWindows, key: int) -> None:
    """Heap order, heap <-> slot links, unique agents and reachability of every agent."""
    live = int(windows.live[key])
    heap = windows.heap[key, :live]
    pos = windows.pos[key]
    stamps = windows.stamps[key]
    occupied = np.flatnonzero(pos >= 0)
    assert sorted(heap.tolist()) == occupied.tolist()
    assert np.array_equal(pos[heap], np.arange(live))
    for i in range(1, live):
        assert stamps[heap[(i - 1) // 2]] <= stamps[heap[i]]
    agents = windows.agents[key, occupied]
    assert len(set(agents.tolist())) == live
    mask = pos.shape[0] - 1
    for slot, agent in zip(occupied, agents, strict=True):
        assert _find(windows.table, key, agent, mask) == slot


# --- distinct windows: reference comparisons ------------------------------------------------


@st.composite
def report_streams(draw: st.DrawFn) -> list[tuple[int, int, int, bool]]:
    """Reports on 3 keys with a clock that moves forward and reports that arrive late."""
    clock = 0
    stream = []
    for _ in range(draw(st.integers(0, 80))):
        clock += draw(st.integers(0, 4))
        back = draw(st.sampled_from([0, 0, 0, 1, 2, 5, 9, 10, 11, 19, 20, 21]))
        key = draw(st.integers(0, 2))
        agent = draw(st.sampled_from(AGENTS))
        query = draw(st.booleans()) and draw(st.booleans())
        stream.append((key, agent, max(0, clock - back), query))
    return stream


@HYPOTHESIS
@given(
    stream=report_streams(),
    windows=st.lists(st.integers(1, 20), min_size=3, max_size=3),
    capacity=st.integers(1, 6),
)
def test_distinct_matches_naive_on_every_event(
    stream: list[tuple[int, int, int, bool]], windows: list[int], capacity: int
) -> None:
    kernel = DistinctWindows(3, capacity)
    naive = NaiveDistinct(capacity)
    for key, agent, ts, query in stream:
        window = windows[key]
        if query:
            later = ts + window // 2
            assert kernel.count(key, later, window) == naive.count(key, later, window)
        else:
            assert kernel.add(key, agent, ts, window) == naive.add(key, agent, ts, window)
    for key in range(3):
        check_table(kernel, key)
        assert kernel.overflow[key] == naive.overflow[key]
        assert kernel.late[key] == naive.late[key]
        for now in range(int(max(kernel.t_max[key], 0)), int(max(kernel.t_max[key], 0)) + 22):
            assert kernel.count(key, now, windows[key]) == naive.count(key, now, windows[key])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distinct_seeded_stream_batch_single_and_naive_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 4000
    key_windows = np.array([1, 50, 100, 300, 1000, 5000], dtype=np.int64)
    keys = rng.integers(0, key_windows.size, n)
    agents = rng.choice(np.array(AGENTS + list(range(100, 130)), dtype=np.int64), n)
    ts = np.cumsum(rng.integers(0, 20, n))
    late = rng.random(n) < 0.3
    ts = np.maximum(ts - late * rng.integers(0, 400, n), 0).astype(np.int64)
    windows = key_windows[keys]

    batch = DistinctWindows(key_windows.size, agents_per_key=16)
    single = DistinctWindows(key_windows.size, agents_per_key=16)
    naive = NaiveDistinct(agents_per_key=16)
    counts = batch.add_batch(keys, agents, ts, windows)
    assert counts.dtype == np.int32
    for i in range(n):
        args = (int(keys[i]), int(agents[i]), int(ts[i]), int(windows[i]))
        expected = naive.add(*args)
        assert single.add(*args) == expected == counts[i], i
    assert batch.overflow.sum() > 0 and batch.late.sum() > 0
    for key, window in enumerate(key_windows.tolist()):
        check_table(batch, key)
        assert np.array_equal(batch.meta[key], single.meta[key])
        assert batch.overflow[key] == naive.overflow[key]
        assert batch.late[key] == naive.late[key]
        t_max = int(batch.t_max[key])
        for now in (t_max, t_max + window // 2, t_max + window - 1, t_max + window):
            assert batch.count(key, now, window) == naive.count(key, now, window)


def test_distinct_full_size_table_churn_matches_naive() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    agents = rng.integers(-(2**62), 2**62, 600)
    stream_agents = rng.choice(agents, n).astype(np.int64)
    ts = np.cumsum(rng.integers(0, 3, n)).astype(np.int64)
    windows = DistinctWindows(1, agents_per_key=256)
    naive = NaiveDistinct(agents_per_key=256)
    counts = windows.add_batch(np.zeros(n, dtype=np.int64), stream_agents, ts, 400)
    expected = [naive.add(0, int(a), int(t), 400) for a, t in zip(stream_agents, ts, strict=True)]
    assert counts.tolist() == expected
    check_table(windows, 0)


# --- distinct windows: edges -----------------------------------------------------------------


def test_window_edge_is_exclusive() -> None:
    windows = DistinctWindows(1)
    assert windows.add(0, 1, 100, 10) == 1
    assert windows.add(0, 2, 90, 10) == 1  # ts == t_max - window: too late
    assert windows.late[0] == 1
    assert windows.add(0, 2, 91, 10) == 2
    assert windows.add(0, 3, 101, 10) == 2  # agent 2 at 91 == 101 - 10 has left
    assert windows.count(0, 110, 10) == 1
    assert windows.count(0, 111, 10) == 0


def test_one_agent_counts_once_and_out_of_order_counts() -> None:
    windows = DistinctWindows(1)
    for ts in (1000, 1001, 1002, 999):
        assert windows.add(0, 42, ts, 300_000) == 1
    assert windows.add(0, 7, 500, 300_000) == 2  # late arrival, still inside the window
    assert windows.stamps[0, windows.heap[0, : windows.live[0]]].tolist().count(1002) == 1


def test_keys_have_their_own_windows() -> None:
    windows = DistinctWindows(2)
    for agent in range(5):
        windows.add(0, agent, agent * 10, 15)
        windows.add(1, agent, agent * 10, 1000)
    assert windows.count(0, 40, 15) == 2
    assert windows.count(1, 40, 1000) == 5


def test_count_earlier_than_t_max_reads_t_max_and_records_nothing() -> None:
    windows = DistinctWindows(1)
    windows.add(0, 1, 100, 50)
    windows.add(0, 2, 140, 50)
    before = windows.meta.copy()
    assert windows.count(0, 0, 50) == 2
    assert windows.count(0, 160, 50) == 1
    assert windows.count(0, 10**12, 50) == 0
    assert np.array_equal(windows.meta, before)
    assert windows.add(0, 3, 141, 50) == 3  # count() expired nothing


def test_forgotten_agents_stay_forgotten_when_the_window_grows() -> None:
    windows = DistinctWindows(1)
    windows.add(0, 1, 0, 10)
    assert windows.add(0, 2, 20, 10) == 1
    assert windows.add(0, 3, 21, 100) == 2  # agent 1 (ts 0) was forgotten at ts 20
    assert windows.add(0, 4, 22, 1) == 1  # a smaller window applies at once


def test_overflow_drops_new_agents_only_while_the_table_is_full() -> None:
    windows = DistinctWindows(1, agents_per_key=2)
    assert windows.add(0, 1, 0, 10) == 1
    assert windows.add(0, 2, 1, 10) == 2
    assert windows.add(0, 3, 2, 10) == 2
    assert windows.overflow[0] == 1
    assert windows.add(0, 1, 3, 10) == 2  # a live agent refreshes its time
    assert windows.add(0, 3, 12, 10) == 2  # agent 2 expired at 11 < 12: room again
    assert windows.overflow[0] == 1


def test_full_default_table_overflows_then_frees() -> None:
    windows = DistinctWindows(1)
    n = windows.agents_per_key + 10
    counts = windows.add_batch(
        np.zeros(n, dtype=np.int32), np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64), n
    )
    assert counts[-1] == 4096 and windows.overflow[0] == 10
    assert windows.add(0, -5, 2 * n, n) == 1
    check_table(windows, 0)


def test_reset_key_forgets_the_window_but_keeps_counters() -> None:
    windows = DistinctWindows(2, agents_per_key=1)
    windows.add(0, 1, 100, 10)
    windows.add(0, 2, 100, 10)
    windows.add(0, 2, 50, 10)
    windows.add(1, 9, 100, 10)
    windows.reset_key(0)
    assert windows.live[0] == 0 and windows.count(0, 100, 10) == 0
    assert windows.overflow[0] == 1 and windows.late[0] == 1
    assert windows.add(0, 3, 5, 10) == 1  # no t_max any more: not late
    assert windows.count(1, 100, 10) == 1


# --- trend sketch --------------------------------------------------------------------------


def shared_columns(sketch: TrendSketch, keys: list[int]) -> bool:
    columns = np.array([sketch.columns(k) for k in keys])
    return any(len(set(columns[:, row].tolist())) < len(keys) for row in range(sketch.depth))


@st.composite
def trend_streams(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """(key index, ts, n) with a forward clock, late events and gaps of several buckets."""
    clock = draw(st.integers(0, 1000))
    stream = []
    for _ in range(draw(st.integers(1, 60))):
        clock += draw(st.sampled_from([0, 0, 1, 3, 9, 10, 25, 70]))
        back = draw(st.sampled_from([0, 0, 0, 1, 10, 30]))
        stream.append((draw(st.integers(0, 3)), max(0, clock - back), draw(st.integers(1, 3))))
    return stream


@HYPOTHESIS
@given(
    hashes=st.lists(st.integers(0, 2**64 - 1), min_size=4, max_size=4, unique=True),
    stream=trend_streams(),
    horizon=st.sampled_from([1.0, 2.5, 60.0]),
)
def test_trend_without_collisions_matches_naive_exactly(
    hashes: list[int], stream: list[tuple[int, int, int]], horizon: float
) -> None:
    sketch = TrendSketch(depth=3, width=1 << 12)
    assume(not shared_columns(sketch, hashes))
    naive = NaiveTrend()
    for index, ts, n in stream:
        recent, baseline = sketch.add(hashes[index], ts, n, bucket_ms=10, horizon_buckets=horizon)
        expected_recent, expected_baseline = naive.add(index, ts, n, 10, horizon)
        assert recent == expected_recent
        assert baseline == pytest.approx(expected_baseline, rel=1e-9, abs=1e-12)
    last = max(ts for _, ts, _ in stream)
    for now in (0, last, last + 10, last + 35, last + 500):
        for index, key_hash in enumerate(hashes):
            recent, baseline = sketch.estimate(key_hash, now, 10, horizon)
            expected_recent, expected_baseline = naive.estimate(index, now, 10, horizon)
            assert recent == expected_recent
            assert baseline == pytest.approx(expected_baseline, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_trend_with_collisions_never_underestimates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    sketch = TrendSketch(depth=2, width=8)
    naive = NaiveTrend()
    key_hashes = rng.integers(0, 2**64 - 1, 40, dtype=np.uint64)
    keys = rng.integers(0, key_hashes.size, n)
    ts = np.sort(rng.integers(0, 40 * 1000, n)).astype(np.int64)
    ns = rng.integers(1, 4, n).astype(np.int64)
    recent, baseline = sketch.add_batch(key_hashes[keys], ts, ns, 1000, 5.0)
    over = 0
    for i in range(n):
        expected_recent, expected_baseline = naive.add(
            int(keys[i]), int(ts[i]), int(ns[i]), 1000, 5.0
        )
        assert recent[i] >= expected_recent
        assert baseline[i] >= expected_baseline - 1e-9
        over += recent[i] > expected_recent
    assert over > 0  # the sketch really collided
    for index, key_hash in enumerate(key_hashes):
        for now in (int(ts[-1]), int(ts[-1]) + 2500):
            got = sketch.estimate(key_hash, now, 1000, 5.0)
            expected = naive.estimate(index, now, 1000, 5.0)
            assert got[0] >= expected[0] and got[1] >= expected[1] - 1e-9


def test_trend_late_events_count_in_the_current_bucket() -> None:
    sketch = TrendSketch(depth=2, width=1 << 8)
    assert sketch.add(5, 125_000) == (1, 0.0)  # bucket 2
    assert sketch.add(5, 61_000)[0] == 2  # bucket 1: counted in bucket 2
    assert sketch.estimate(5, 179_999) == (2, 0.0)
    assert sketch.estimate(5, 180_000)[0] == 0


def test_trend_batch_equals_single_calls() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**64 - 1, 500, dtype=np.uint64)
    ts = np.sort(rng.integers(0, 3_600_000, 500)).astype(np.int64)
    batch, single = TrendSketch(width=1 << 10), TrendSketch(width=1 << 10)
    recent, baseline = batch.add_batch(hashes, ts, 2, 60_000, 30.0)
    for i in range(500):
        assert single.add(hashes[i], int(ts[i]), 2, 60_000, 30.0) == (recent[i], baseline[i])
    assert np.array_equal(batch.cells, single.cells)


# --- weak-signal detector --------------------------------------------------------------------

RULE = {"min_count": 5, "growth_ratio": 3.0, "floor": 1.0}


def test_small_burst_against_a_steady_baseline_flags() -> None:
    sketch = TrendSketch()
    burst, steady = hash_key("combo:model x|black screen"), hash_key("topic:logistics_delay")
    for minute in range(30):
        for second in (5, 35):
            for key in (burst, steady):
                recent, baseline = sketch.add(key, minute * 60_000 + second * 1000)
                assert not is_anomalous(recent, baseline, **RULE)
    flags = []
    for second in range(8):
        recent, baseline = sketch.add(burst, 30 * 60_000 + second * 1000)
        flags.append(bool(is_anomalous(recent, baseline, **RULE)))
        assert baseline == pytest.approx(2.0)
    # 6 events sit on the edge 3 * 2.0 (the baseline is 2 up to rounding): 5 never flag, 7 do.
    assert not any(flags[:5]) and all(flags[6:])
    for second in (5, 35):
        assert not is_anomalous(*sketch.add(steady, 30 * 60_000 + second * 1000), **RULE)


def test_never_seen_key_with_one_event_does_not_flag() -> None:
    sketch = TrendSketch()
    sketch.add(hash_key("topic:other"), 0)
    recent, baseline = sketch.add(hash_key("topic:brand new"), 3_600_000)
    assert (recent, baseline) == (1, 0.0)
    assert not is_anomalous(recent, baseline, **RULE)
    assert sketch.estimate(hash_key("topic:never"), 3_600_000) == (0, 0.0)


def test_busy_key_needs_growth_not_just_volume() -> None:
    sketch = TrendSketch()
    key = hash_key("topic:payment")
    for minute in range(20):
        sketch.add(key, minute * 60_000, n=100)
    assert not is_anomalous(*sketch.add(key, 20 * 60_000, n=150), **RULE)
    assert is_anomalous(*sketch.add(key, 20 * 60_000 + 1, n=151), **RULE)


@HYPOTHESIS
@given(
    recent=st.integers(0, 1000),
    baseline=st.floats(0, 1000),
    min_count=st.integers(0, 20),
    growth_ratio=st.floats(1, 10),
    floor=st.floats(0, 10),
)
def test_is_anomalous_matches_its_formula(
    recent: int, baseline: float, min_count: int, growth_ratio: float, floor: float
) -> None:
    expected = naive_is_anomalous(recent, baseline, min_count, growth_ratio, floor)
    assert bool(is_anomalous(recent, baseline, min_count, growth_ratio, floor)) == expected
    array = is_anomalous(
        np.array([recent, 0]), np.array([baseline, 0.0]), min_count, growth_ratio, floor
    )
    assert array.tolist() == [expected, naive_is_anomalous(0, 0.0, min_count, growth_ratio, floor)]


# --- keys, warm-up ---------------------------------------------------------------------------


def test_hashes_are_stable_and_typed() -> None:
    # Fixed values: the hash must not change between processes, machines or releases, or
    # rebuilt windows and sketches would no longer line up with stored keys.
    assert hash_key("payment failed") == np.uint64(9733701604484022387)
    assert hash_agent("agent-0042") == np.int64(1991398984771143746)
    assert isinstance(hash_key("x"), np.uint64) and isinstance(hash_agent("x"), np.int64)
    assert int(hash_key("x")) != int(hash_agent("x")) % 2**64


def test_calls_after_warmup_do_not_compile() -> None:
    dispatchers = [_add, _trend_add]
    before = [len(d.signatures) for d in dispatchers]
    windows = DistinctWindows(2)
    windows.add(np.int32(1), np.int64(5), np.uint32(7), np.int16(9))
    windows.add(1, hash_agent("a"), 10, 300_000)
    sketch = TrendSketch()
    sketch.add(7, np.int32(5), np.int8(1), np.int64(60_000), 60)
    sketch.add(2**64 - 1, 5)
    assert [len(d.signatures) for d in dispatchers] == before


# --- validation ------------------------------------------------------------------------------

WINDOWS = DistinctWindows(2, agents_per_key=4)
SKETCH = TrendSketch(depth=2, width=8)
I64 = np.array([1, 2], dtype=np.int64)
KEYS = np.array([0, 1], dtype=np.int64)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: DistinctWindows(0), "n_keys"),
        (lambda: DistinctWindows(2, 0), "agents_per_key"),
        (lambda: WINDOWS.add(2, 1, 0, 10), "key"),
        (lambda: WINDOWS.add(-1, 1, 0, 10), "key"),
        (lambda: WINDOWS.add(1.0, 1, 0, 10), "key"),
        (lambda: WINDOWS.add(True, 1, 0, 10), "key"),
        (lambda: WINDOWS.add(0, 2**63, 0, 10), "agent"),
        (lambda: WINDOWS.add(0, 1, -1, 10), "ts_ms"),
        (lambda: WINDOWS.add(0, 1, 0, 0), "window_ms"),
        (lambda: WINDOWS.add(0, 1, 0, -5), "window_ms"),
        (lambda: WINDOWS.count(0, 0, -1), "window_ms"),
        (lambda: WINDOWS.count(5, 0, 1), "key"),
        (lambda: WINDOWS.reset_key(2), "key"),
        (lambda: WINDOWS.add_batch(I64.astype(float), I64, I64, 10), "keys"),
        (lambda: WINDOWS.add_batch(KEYS, I64.astype(np.int32), I64, 10), "agents"),
        (lambda: WINDOWS.add_batch(KEYS, I64, I64.astype(float), 10), "ts_ms"),
        (lambda: WINDOWS.add_batch(KEYS, I64[:1], I64, 10), "agents"),
        (lambda: WINDOWS.add_batch(I64.reshape(2, 1), I64, I64, 10), "keys"),
        (lambda: WINDOWS.add_batch(I64 + 5, I64, I64, 10), "keys"),
        (lambda: WINDOWS.add_batch(KEYS, I64, -I64, 10), "ts_ms"),
        (lambda: WINDOWS.add_batch(KEYS, I64, I64, 0), "window_ms"),
        (lambda: WINDOWS.add_batch(KEYS, I64, I64, I64 - 1), "window_ms"),
        (lambda: WINDOWS.add_batch(KEYS, I64, I64, I64.astype(float)), "window_ms"),
        (lambda: TrendSketch(depth=0), "depth"),
        (lambda: TrendSketch(width=1000), "width"),
        (lambda: SKETCH.add(-1, 0), "key_hash"),
        (lambda: SKETCH.add(2**64, 0), "key_hash"),
        (lambda: SKETCH.add(1, -1), "ts_ms"),
        (lambda: SKETCH.add(1, 0, n=0), "n"),
        (lambda: SKETCH.add(1, 0, bucket_ms=0), "bucket_ms"),
        (lambda: SKETCH.add(1, 0, horizon_buckets=0.5), "horizon_buckets"),
        (lambda: SKETCH.add(1, 0, horizon_buckets=float("nan")), "horizon_buckets"),
        (lambda: SKETCH.estimate(1, -1), "now_ms"),
        (lambda: SKETCH.add_batch(I64, I64), "hashes"),
        (lambda: SKETCH.add_batch(I64.astype(np.uint64), -I64), "ts_ms"),
        (lambda: SKETCH.add_batch(I64.astype(np.uint64), I64, n=I64 - 1), "n"),
        (lambda: SKETCH.add_batch(I64.astype(np.uint64), I64, n=I64.astype(float)), "n"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_kernels_run_as_plain_python_with_jit_disabled() -> None:
    """The stumpy-style coverage run: the same code without Numba, against the references."""
    script = textwrap.dedent(
        """
        import numpy as np
        from kernels import DistinctWindows, TrendSketch
        from tests.naive import NaiveDistinct, NaiveTrend

        rng = np.random.default_rng(0)
        windows, naive = DistinctWindows(2, 3), NaiveDistinct(3)
        keys = rng.integers(0, 2, 300)
        agents = rng.integers(-(2**63), 2**63 - 1, 6, dtype=np.int64)[rng.integers(0, 6, 300)]
        ts = np.maximum(np.cumsum(rng.integers(0, 5, 300)) - rng.integers(0, 30, 300), 0)
        got = windows.add_batch(keys, agents, ts, 25)
        want = [naive.add(int(k), int(a), int(t), 25) for k, a, t in zip(keys, agents, ts)]
        assert got.tolist() == want, "distinct"
        sketch, trend = TrendSketch(2, 1 << 16), NaiveTrend()
        with np.errstate(over="ignore"):
            for i in range(200):
                got = sketch.add(int(keys[i]) + 11, int(ts[i]), 1, 10, 4.0)
                want = trend.add(int(keys[i]), int(ts[i]), 1, 10, 4.0)
                assert got[0] == want[0] and abs(got[1] - want[1]) < 1e-9, "trend"
        print("ok")
        """
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
