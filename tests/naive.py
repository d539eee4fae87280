"""Slow, obviously-correct references for the kernels, written from their definitions."""

import math
from collections import Counter, defaultdict


class NaiveDistinct:
    """Every report ever accepted, per key; counts are set sizes over the window's reports.

    Same semantics as `kernels.DistinctWindows` for a constant window per key: the window is
    ``(t_max - window, t_max]``; reports at or before ``t_max - window`` are late and ignored;
    a report from a new agent while ``agents_per_key`` agents are in the window is dropped.
    """

    def __init__(self, agents_per_key: int | None = None) -> None:
        self.agents_per_key = agents_per_key
        self.reports: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.t_max: dict[int, int] = {}
        self.overflow: Counter[int] = Counter()
        self.late: Counter[int] = Counter()

    def agents_in(self, key: int, end: int, window: int) -> set[int]:
        return {agent for ts, agent in self.reports[key] if end - window < ts <= end}

    def add(self, key: int, agent: int, ts: int, window: int) -> int:
        if key in self.t_max and ts <= self.t_max[key] - window:
            self.late[key] += 1
            return len(self.agents_in(key, self.t_max[key], window))
        self.t_max[key] = max(self.t_max.get(key, ts), ts)
        live = self.agents_in(key, self.t_max[key], window)
        if agent not in live and self.agents_per_key is not None:
            if len(live) >= self.agents_per_key:
                self.overflow[key] += 1
                return len(live)
        self.reports[key].append((ts, agent))
        return len(self.agents_in(key, self.t_max[key], window))

    def count(self, key: int, now: int, window: int) -> int:
        return len(self.agents_in(key, max(now, self.t_max.get(key, now)), window))

    def reset_key(self, key: int) -> None:
        self.reports.pop(key, None)
        self.t_max.pop(key, None)


class NaiveTrend:
    """Per-key counts by bucket and the baseline as an explicit weighted mean.

    Same semantics as `kernels.TrendSketch` without collisions: an event for a bucket older
    than the key's current bucket counts in the current bucket; the baseline at bucket ``B`` is
    the mean of the key's counts in buckets ``origin .. B - 1`` (0 where it had none), bucket
    ``j`` weighted ``alpha**(B - 1 - j)``, ``origin`` being the earliest bucket of any key.
    """

    def __init__(self) -> None:
        self.current: dict[int, int] = {}
        self.counts: dict[int, Counter[int]] = defaultdict(Counter)
        self.origin: int | None = None

    @staticmethod
    def alpha(horizon_buckets: float) -> float:
        return math.exp(-1.0 / horizon_buckets)

    def baseline(self, key: int, bucket: int, alpha: float) -> float:
        past = range(self.origin, bucket)
        weights = [alpha ** (bucket - 1 - j) for j in past]
        if not weights:
            return 0.0
        counts = [self.counts[key][j] for j in past]
        return sum(w * c for w, c in zip(weights, counts, strict=True)) / sum(weights)

    def at(self, key: int, bucket: int, alpha: float) -> tuple[int, float]:
        if key not in self.current:
            return 0, 0.0
        current = self.current[key]
        if bucket > current:
            return 0, self.baseline(key, bucket, alpha)
        return self.counts[key][current], self.baseline(key, current, alpha)

    def add(self, key: int, ts: int, n: int, bucket_ms: int, horizon: float) -> tuple[int, float]:
        bucket = ts // bucket_ms
        self.origin = bucket if self.origin is None else min(self.origin, bucket)
        self.current[key] = max(self.current.get(key, bucket), bucket)
        self.counts[key][self.current[key]] += n
        return self.at(key, self.current[key], self.alpha(horizon))

    def estimate(self, key: int, now: int, bucket_ms: int, horizon: float) -> tuple[int, float]:
        return self.at(key, now // bucket_ms, self.alpha(horizon))


def naive_is_anomalous(
    recent: int, baseline: float, min_count: int, growth_ratio: float, floor: float
) -> bool:
    return recent >= min_count and recent >= growth_ratio * max(baseline, floor)
