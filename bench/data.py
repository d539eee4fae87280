"""Benchmark data: a store of N realistic profiles, built once and kept under bench/out/."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import orjson

from server.profiles import DAY_MS, new_profile
from server.store import Store

OUT = Path(__file__).resolve().parent / "out"
TOPICS = (
    "logistics.delay",
    "logistics.damage",
    "payment.failure",
    "payment.double_charge",
    "product.quality",
    "service.attitude",
    "service.wait",
    "refund.delay",
    "price.expensive",
    "account.login",
    "billing.error",
)
NOW_MS = 1_790_000_000_000


def profile(i: int, rng: random.Random, now_ms: int = NOW_MS) -> dict:
    """A customer with an NPS, a CSAT and up to 8 recent events, like the demo's but in bulk."""
    p = new_profile(f"C{i:07d}", now_ms - 200 * DAY_MS)
    p["tier"] = rng.choices(("STANDARD", "VIP", "VVIP"), (80, 15, 5))[0]
    p["name"] = f"customer {i}"
    p["locale"] = "zh" if i % 3 else "en"
    if rng.random() < 0.6:
        p["nps"] = {"score": rng.randint(0, 10), "at": now_ms - rng.randint(0, 80) * DAY_MS}
    if rng.random() < 0.5:
        p["csat"] = {
            "score": rng.randint(1, 5),
            "agent": f"A{rng.randint(1, 500):03d}",
            "at": now_ms - rng.randint(0, 30) * DAY_MS,
        }
    events = []
    for _ in range(rng.randint(0, 8)):
        pol = "complaint" if rng.random() < 0.7 else "praise"
        events.append(
            {
                "t": now_ms - rng.randint(0, 60 * 24) * 3_600_000,
                "k": pol,
                "src": f"f{rng.getrandbits(40):x}",
                "tp": [[rng.choice(TOPICS), pol]],
            }
        )
    events.sort(key=lambda e: e["t"])
    p["events"] = events
    return p


def profile_store(n: int, *, seed: int = 1) -> Path:
    """An LMDB store with n profiles under bench/out/store-<n>, built on first use."""
    path = OUT / f"store-{n}"
    done = path / "complete"
    if done.exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    store = Store(path, map_size_mb=max(64, n // 400), sync=False)
    batch = 20_000
    for start in range(1, n + 1, batch):
        rows = [profile(i, rng) for i in range(start, min(n, start + batch - 1) + 1)]
        store.write(lambda tx, rows=rows: [tx.put("customers", r["id"].encode(), r) for r in rows])
    store.sync()
    store.close()
    done.write_text(str(n))
    return path


def sqlite_store(n: int, *, seed: int = 1) -> Path:
    """The same profiles as JSON text in SQLite (the peer an engineer would reach for)."""
    path = OUT / f"profiles-{n}.sqlite"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID")
    batch = 20_000
    for start in range(1, n + 1, batch):
        rows = [profile(i, rng) for i in range(start, min(n, start + batch - 1) + 1)]
        db.executemany(
            "INSERT INTO customers VALUES (?, ?)",
            [(r["id"], orjson.dumps(r).decode()) for r in rows],
        )
        db.commit()
    db.close()
    tmp.rename(path)
    return path


def sqlite_get(db: sqlite3.Connection, customer_id: str) -> dict | None:
    row = db.execute("SELECT body FROM customers WHERE id = ?", (customer_id,)).fetchone()
    return None if row is None else json.loads(row[0])
