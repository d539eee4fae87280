"""Card assembly in-process over a 1M-profile LMDB store, beside the same over SQLite + json."""

from __future__ import annotations

import itertools
import os
import random
import sqlite3

import pytest

from bench.data import NOW_MS, profile_store, sqlite_get, sqlite_store
from server.card import assemble_card
from server.config import load_config
from server.convert import card_pb
from server.engine import Engine
from server.service import VocService
from server.store import Store

PROFILES = int(os.environ.get("VOC_BENCH_PROFILES", "1000000"))


@pytest.fixture(scope="module")
def service():
    cfg = load_config(None, env={}, overrides={"store": {"path": str(profile_store(PROFILES))}})
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
    card = benchmark(lambda: service.card(next(customer_ids), "", "zh"))
    assert card.known


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_lmdb_orjson_to_protobuf(benchmark, service, customer_ids) -> None:
    msg = benchmark(lambda: card_pb(service.card(next(customer_ids), "", "zh")))
    assert msg.known


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_peer_sqlite_json(benchmark, service, customer_ids) -> None:
    db = sqlite3.connect(sqlite_store(PROFILES), check_same_thread=False)
    lexicon, cfg = service.engine.current.lexicon, service.cfg.card

    def card():
        cid = next(customer_ids)
        return assemble_card(cid, sqlite_get(db, cid), now_ms=NOW_MS, locale="zh", texts=lexicon,
                             cfg=cfg)

    assert benchmark(card).known
    db.close()


@pytest.mark.benchmark(group="card assembly (1M profiles)")
def test_card_unknown_customer(benchmark, service) -> None:
    assert not benchmark(lambda: service.card("nobody-here", "", "en")).known
