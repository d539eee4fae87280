"""RedisLiveTable on a real redis-server: exact under concurrent updaters, expiry, and
UNAVAILABLE with a clear message when Redis is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client import generate_latest

from clients.client import VocClient
from server.app import build_server
from server.config import ConfigError, load_config
from server.errors import FailedPrecondition, Unavailable
from server.state import KEEP
from tests.conftest import make_config
from tests.redis_server import RedisServer

pytest.importorskip("redis")

from server.cluster import LIVE_INDEX, ClusterParams, RedisLiveTable, connect  # noqa: E402


@pytest.fixture
def tables(redis_url: str) -> Iterator[Callable[..., RedisLiveTable]]:
    """Makes tables on the shared server, each with its own connections; closes them."""
    made: list[RedisLiveTable] = []

    def make(expire_s: float = 60.0, table: RedisLiveTable | None = None) -> RedisLiveTable:
        if table is None:
            table = RedisLiveTable(connect(ClusterParams(redis_url=redis_url)), expire_s=expire_s)
        made.append(table)
        return table

    yield make
    for table in made:
        table.redis.close()


def test_concurrent_updates_count_exactly(tables: Callable[..., RedisLiveTable]) -> None:
    threads, rounds, ids = 8, 150, ["call-a", "call-b"]
    made = [tables() for _ in range(threads)]  # own connections: like separate processes
    tried = [0] * threads

    def bump(record: dict | None, n: int) -> tuple[dict, int]:
        tried[n] += 1
        record = record or {"n": 0, "t": 0}
        record["n"] += 1
        return record, record["n"]

    def batch(iid: str, record: dict | None, n: int) -> tuple[dict, None]:
        tried[n] += 1
        return {"n": record["n"] + 1, "t": 0}, None

    def run(n: int) -> None:
        for i in range(rounds):
            if i % 3 == 0:
                made[n].update_many(ids, lambda iid, r, n=n: batch(iid, r, n))  # both at once
            else:
                made[n].update(ids[i % 2], lambda r, n=n: bump(r, n))

    made[0].update(ids[0], lambda r: ({"n": 0, "t": 0}, None))
    made[0].update(ids[1], lambda r: ({"n": 0, "t": 0}, None))
    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    batches = threads * len([i for i in range(rounds) if i % 3 == 0])
    singles = threads * rounds - batches
    expected = {iid: batches for iid in ids}
    for i in range(rounds):
        if i % 3:
            expected[ids[i % 2]] += threads
    table = made[0]
    counts = {iid: table.get(iid)["n"] for iid in ids}
    assert counts == expected  # not one update lost or counted twice
    assert counts == {iid: r["n"] for iid, r in table.records()}
    assert len(table) == 2
    assert sum(tried) > singles + 2 * batches  # the updaters did collide and retry


def test_a_step_that_raises_writes_nothing_keep_keeps_and_none_deletes(
    tables: Callable[..., RedisLiveTable],
) -> None:
    table = tables()
    table.update("x", lambda r: ({"n": 1, "t": 0}, None))

    def fail(record: dict | None) -> tuple[dict, None]:
        record["n"] = 99
        raise KeyError("refused")

    with pytest.raises(KeyError):
        table.update("x", fail)
    assert table.get("x") == {"n": 1, "t": 0}
    assert table.update_many(["x", "y"], lambda iid, r: (KEEP, iid)) == ["x", "y"]
    assert table.get("x") == {"n": 1, "t": 0} and table.get("y") is None
    assert table.update("x", lambda r: (None, "gone")) == "gone"
    assert table.get("x") is None and len(table) == 0 and table.records() == []


def test_a_record_expires_after_its_last_update(
    tables: Callable[..., RedisLiveTable], redis_server: RedisServer
) -> None:
    table = tables(expire_s=2.0)
    table.update("brief", lambda r: ({"t": 1}, None))
    ttl = redis_server.client.pttl(b"voc:live:brief")
    assert 1000 < ttl <= 2000
    time.sleep(1.2)
    table.update("brief", lambda r: ({"t": 2}, None))  # refreshed
    time.sleep(1.2)  # past the first expiry
    assert table.get("brief") == {"t": 2} and len(table) == 1
    deadline = time.monotonic() + 5
    while table.get("brief") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert table.get("brief") is None
    assert len(table) == 0 and table.records() == []
    assert redis_server.client.zcard(LIVE_INDEX) == 0  # records() pruned the index


def test_the_expiry_follows_the_live_idle_time(
    tmp_path: Path, redis_url: str, tables: Callable[..., RedisLiveTable]
) -> None:
    cfg = make_config(
        tmp_path / "s", cluster={"redis_url": redis_url}, live={"idle_s": 30, "sweep_s": 2}
    )
    table = RedisLiveTable.from_config(cfg)
    assert table is not None and tables(table=table).expire_ms == 62_000
    assert RedisLiveTable.from_config(make_config(tmp_path / "e")) is None
    from_env = load_config(None, env={"VOC_CLUSTER_REDIS_URL": redis_url})
    assert ClusterParams.from_config(from_env).redis_url == redis_url
    with pytest.raises(ConfigError, match=r"\[cluster\] redis_ur"):
        RedisLiveTable.from_config(make_config(tmp_path / "b", cluster={"redis_ur": "x"}))
    with pytest.raises(ConfigError, match=r"\[cluster\] redis_url"):
        RedisLiveTable.from_config(make_config(tmp_path / "c", cluster={"redis_url": "http://x"}))


def test_redis_down_answers_unavailable_and_cards_keep_serving(tmp_path: Path) -> None:
    own = RedisServer(tmp_path / "redis")  # this test stops it
    running = None
    try:
        cfg = make_config(tmp_path / "store", cluster={"redis_url": own.url, "timeout_s": 0.5})
        running = build_server(cfg)
        with VocClient(f"127.0.0.1:{running.port}", timeout=10) as client:
            client.wait_until_serving()
            score = client.score("down-1", "快递一周了还没到", customer_id="c-down")
            assert score.topics
            assert own.client.exists(b"voc:live:down-1")  # the live record is in Redis
            own.client.close()
            own.stop()
            with pytest.raises(grpc.RpcError) as err:
                client.score("down-1", "还没到", customer_id="c-down")
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert f"Redis at 127.0.0.1:{own.port} did not answer" in err.value.details()
            assert "retry when Redis is back" in err.value.details()
            card = client.card("c-down")  # served from the local store
            assert card.customer_id == "c-down"
            assert client.stats().live_interactions == -1  # the rest of Stats answers
            scraped = generate_latest(running.metrics.registry).decode()
            assert "vocscore_lexicon_info" in scraped
            assert "vocscore_live_interactions " not in scraped
    finally:
        if running is not None:
            running.stop(grace=0.5)
            running.service.interactions.table.redis.close()  # the process would exit here
        own.stop()


def test_the_node_recovers_by_itself_when_redis_returns(tmp_path: Path) -> None:
    own = RedisServer(tmp_path / "redis")
    running = None
    try:
        live = {"idle_s": 0.3, "sweep_s": 0.1}
        cfg = make_config(tmp_path / "store", cluster={"redis_url": own.url}, live=live)
        running = build_server(cfg)
        with VocClient(f"127.0.0.1:{running.port}", timeout=10) as client:
            client.wait_until_serving()
            own.client.close()
            own.stop()
            with pytest.raises(grpc.RpcError) as err:
                client.score("back-1", "快递一周了还没到", customer_id="c-back")
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            time.sleep(0.5)  # the sweeper meets the dead Redis a few times
            own = RedisServer(tmp_path / "redis", port=own.port)  # back, on the same address
            assert client.score("back-1", "快递一周了还没到", customer_id="c-back").topics
            deadline = time.monotonic() + 10  # idle: the sweeper writes it to the profile
            while not client.card("c-back").topics and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [t.topic for t in client.card("c-back").topics] == ["logistics.delay"]
            assert own.client.keys(b"voc:live:*") == []
    finally:
        if running is not None:
            running.stop(grace=0.5)
            running.service.interactions.table.redis.close()  # the process would exit here
        own.stop()


def test_a_redis_out_of_memory_answers_unavailable_and_close_closes(tmp_path: Path) -> None:
    own = RedisServer(tmp_path / "redis")
    table = RedisLiveTable(connect(ClusterParams(redis_url=own.url)), expire_s=60.0)
    try:
        table.update("oom-1", lambda r: ({"n": 1, "t": 0}, None))
        own.client.config_set("maxmemory", 1)  # every write is refused with OOM
        with pytest.raises(Unavailable, match="out of memory"):
            table.update("oom-2", lambda r: ({"n": 1, "t": 0}, None))
        assert table.get("oom-1") == {"n": 1, "t": 0}  # reads still answer
        table.close()
        assert not table.redis.connection_pool._in_use_connections
    finally:
        table.redis.close()
        own.stop()


def test_end_on_one_node_sums_the_parts_another_node_wrote_out(
    tmp_path: Path, tables: Callable[..., RedisLiveTable]
) -> None:
    """Node A writes a call out (idle), node B takes its next utterance and ends it: the
    summary counts both parts, as on one node, and A refuses the ended call."""
    from server.engine import Engine
    from server.interactions import Interactions, UtteranceIn
    from server.store import Store

    cfg = make_config(tmp_path / "a", live={"idle_s": 1.0})
    engine = Engine(cfg)
    now = [1_800_000_000_000]
    stores = [Store(tmp_path / name) for name in ("a", "b")]
    a, b = (
        Interactions.from_config(cfg, st, engine, clock=lambda: now[0], table=tables())
        for st in stores
    )
    try:
        a.score(UtteranceIn("parts-1", "cp", "A", "CUSTOMER", "CHAT", "快递还没到", now[0] - 1000))
        now[0] += 5000
        assert a.sweep() == 1  # written out on A
        b.score(UtteranceIn("parts-1", "cp", "A", "CUSTOMER", "CHAT", "退款还没到账", now[0] - 100))
        ended = b.end("parts-1").summary
        assert ended.customer_utterance_count == 2
        assert {t.topic for t in ended.topics} >= {"logistics.delay"}
        with pytest.raises(FailedPrecondition):
            a.score(UtteranceIn("parts-1", "cp", "A", "CUSTOMER", "CHAT", "还没到", now[0]))
        assert a.end("parts-1").summary == ended  # a retried End on A
    finally:
        for st in stores:
            st.close()
