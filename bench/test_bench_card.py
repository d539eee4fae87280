"""Card assembly in-process over a 1M-profile LMDB store, beside the same over SQLite + json."""

from __future__ import annotations

import itertools
import os
import random
import sqlite3
from pathlib import Path

import pytest

from bench.data import NOW_MS, profile_store, sqlite_get, sqlite_store
from server.card import assemble_card
from server.config import load_config
from server.convert import card_pb
from server.engine import Engine
from server.service import VocService
from server.store import Store

PROFILES = int(os.environ.get("VOC_BENCH_PROFILES", "1000000"))


def warm(path: Path) -> None:
    """Reads a store file once so the benchmark measures CPU, not the first disk reads."""
    for f in [path] if path.is_file() else sorted(path.glob("*.mdb")):
        with f.open("rb") as fh:
            while fh.read(16 << 20):
                pass


@pytest.fixture(scope="module")
def service():
    path = profile_store(PROFILES)
    warm(path)
    cfg = load_config(None, env={}, overrides={"store": {"path": str(path)}})
    store = Store(cfg.store.path, map_size_mb=max(64, PROFILES // 400))
    svc = VocService(cfg, store, Engine(cfg), clock=lambda: NOW_MS)
    yield svc
    store.close()


@pytest.fixture(scope="module")
def customer_ids():
    rng = random.Random(5)
    return itertools.cycle([f"C{rng.randint(1, PROFILES):07d}" for _ in range(20_000)])


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_lmdb_orjson(benchmark, service, customer_ids) -> None:
    warm(Path(service.cfg.store.path))
    card = benchmark(lambda: service.card(next(customer_ids), "", "zh"))
    assert card.known


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_lmdb_orjson_to_protobuf(benchmark, service, customer_ids) -> None:
    warm(Path(service.cfg.store.path))
    msg = benchmark(lambda: card_pb(service.card(next(customer_ids), "", "zh")))
    assert msg.known


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_peer_sqlite_json(benchmark, service, customer_ids) -> None:
    path = sqlite_store(PROFILES)
    warm(path)
    db = sqlite3.connect(path, check_same_thread=False)
    lexicon, cfg = service.engine.current.lexicon, service.cfg.card

    def card():
        cid = next(customer_ids)
        return assemble_card(
            cid, sqlite_get(db, cid), now_ms=NOW_MS, locale="zh", texts=lexicon, cfg=cfg
        )

    assert benchmark(card).known
    db.close()


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_unknown_customer(benchmark, service) -> None:
    assert not benchmark(lambda: service.card("nobody-here", "", "en")).known
