"""Topic counts per hour for the board: buckets, the top topics, old hours falling off."""

from __future__ import annotations

from server.trends import HOUR_MS, TopicTrends

T0 = 1_800_000_000_000 // HOUR_MS * HOUR_MS


def test_counts_per_hour_and_top_topics() -> None:
    trends = TopicTrends(hours=3)
    trends.add(["refund.delay", "payment.failure"], T0)
    trends.add(["refund.delay"], T0 + HOUR_MS + 5)
    trends.add(["refund.delay"], T0 + 2 * HOUR_MS)
    hours, table = trends.table(T0 + 2 * HOUR_MS + 10, top=1)
    assert hours == [T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]
    assert table == {"refund.delay": [1, 1, 1]}


def test_hours_older_than_the_window_fall_off() -> None:
    trends = TopicTrends(hours=2)
    trends.add(["a"], T0)
    trends.add(["b"], T0 + 5 * HOUR_MS)
    _, table = trends.table(T0 + 5 * HOUR_MS)
    assert table == {"b": [0, 1]}
    assert len(trends._buckets) == 1
