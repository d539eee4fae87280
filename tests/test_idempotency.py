"""Idempotency keys expire after [store] idempotency_days, counted from when they were recorded."""

from __future__ import annotations

from pathlib import Path

from server.config import StoreConfig
from server.feedback import FeedbackIn, prune_idempotency, record_feedback
from server.store import Store

DAY_MS = 86_400_000
NOW = 1_790_000_000_000


def test_old_keys_expire_and_recent_ones_stay(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size_mb=16, sync=False)
    cfg = StoreConfig()
    old = FeedbackIn("fb-old", "c1", "NPS", score=3, ts_ms=NOW - 40 * DAY_MS)
    new = FeedbackIn("fb-new", "c1", "NPS", score=9, ts_ms=NOW - 40 * DAY_MS)
    record_feedback(store, old, None, cfg, NOW - 31 * DAY_MS)
    record_feedback(store, new, None, cfg, NOW - DAY_MS)  # an old event recorded recently
    store.write(lambda tx: tx.put("idem", b"r:report-1", {"at": 0}))  # not ours to prune
    for i in range(2500):  # more than one batch
        store.write(lambda tx, i=i: tx.put("idem", f"f:x{i:05d}".encode(), {"at": 1, "t": 1}))

    removed = prune_idempotency(store, NOW - 30 * DAY_MS, batch=1000)

    assert removed == 2501
    assert store.get("idem", b"f:fb-old") is None
    assert store.get("idem", b"f:fb-new") is not None
    assert store.get("idem", b"r:report-1") is not None
    assert record_feedback(store, new, None, cfg, NOW).duplicate  # still within its window
    assert not record_feedback(store, old, None, cfg, NOW).duplicate  # expired: recorded again
    assert prune_idempotency(store, NOW - 30 * DAY_MS) == 0
    store.close()
