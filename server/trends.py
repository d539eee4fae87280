"""Topic counts per hour over the last day, for the ops board's trend view (in memory only)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

HOUR_MS = 3_600_000
HOURS = 24


class TopicTrends:
    """Counts each topic a customer signal carried, in hourly buckets; the oldest fall off."""

    def __init__(self, hours: int = HOURS) -> None:
        self.hours = hours
        self._buckets: dict[int, Counter[str]] = {}
        self._lock = threading.Lock()

    def add(self, topics: Iterable[str], ts_ms: int) -> None:
        hour = ts_ms // HOUR_MS
        with self._lock:
            bucket = self._buckets.get(hour)
            if bucket is None:
                bucket = self._buckets[hour] = Counter()
                for old in [h for h in self._buckets if h <= hour - self.hours]:
                    del self._buckets[old]
            bucket.update(topics)

    def table(self, now_ms: int, top: int = 8) -> tuple[list[int], dict[str, list[int]]]:
        """(hour starts in ms, oldest first; the `top` topics of the day -> count per hour)."""
        now_hour = now_ms // HOUR_MS
        hours = list(range(now_hour - self.hours + 1, now_hour + 1))
        with self._lock:
            buckets = [self._buckets.get(h, Counter()) for h in hours]
        total: Counter[str] = Counter()
        for b in buckets:
            total.update(b)
        names = [name for name, _ in total.most_common(top)]
        return [h * HOUR_MS for h in hours], {n: [b.get(n, 0) for b in buckets] for n in names}
