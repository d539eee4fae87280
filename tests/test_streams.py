"""Streams at contact-center scale: open streams never starve health, cards or scoring; limits
refuse at once; idle streams end with a clear status and their interaction is kept."""

from __future__ import annotations

import ctypes
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.client import VocClient
from clients.idle_streams import IdleStreams
from clients.pb import voc_pb2
from server.app import Running, build_server
from server.streams import widen_futex_hash
from tests.conftest import make_config

LIVE, WATCH = 300, 40


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Small limits, so a test can reach them: 4 live streams, 2 watchers, 1 s idle cut-off."""
    cfg = make_config(
        tmp_path_factory.mktemp("store"),
        live={"max_streams": 4},
        reports={"max_watchers": 2},
        server={"stream_idle_s": 1.0},
    )
    running = build_server(cfg)
    try:
        yield running
    finally:
        running.stop(grace=0.2)


def customer(iid: str, text: str, cid: str = "stream-c1") -> voc_pb2.Utterance:
    return voc_pb2.Utterance(
        interaction_id=iid,
        customer_id=cid,
        agent_id="A001",
        speaker=voc_pb2.CUSTOMER,
        channel=voc_pb2.VOICE,
        text=text,
    )


def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


class OpenStream:
    """A live-call stream the test writes to one utterance at a time."""

    def __init__(self, client: VocClient, iid: str) -> None:
        self._outbox: queue.Queue = queue.Queue()
        self.replies = client.voc.StreamInteraction(iter(self._outbox.get, None), timeout=30)
        self.iid = iid

    def say(self, text: str) -> voc_pb2.UtteranceScore:
        self._outbox.put(customer(self.iid, text))
        return next(self.replies)

    def close(self) -> None:
        self._outbox.put(None)
        self.replies.cancel()


def test_hundreds_of_idle_streams_do_not_starve_health_cards_or_scoring(server, client) -> None:
    target = f"127.0.0.1:{server.port}"
    with IdleStreams(target, live=LIVE, watch=WATCH, channels=4, prefix="floor") as holder:
        assert (holder.held.live_open, holder.held.watch_open) == (LIVE, WATCH), holder.held
        health = health_pb2_grpc.HealthStub(client.channel)
        for _ in range(20):  # each with a short deadline: a starved server misses it
            reply = health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            client.card("floor-C7", timeout=2)
            score = client.score(
                "unary-1", "退款申请了十天还没到账", customer_id="stream-u1", timeout=2
            )
            assert "refund.delay" in [t.topic for t in score.topics]
        assert server.service.stats()["live_interactions"] >= LIVE
    assert holder.held.ended.get("INTERNAL", 0) == 0, holder.held.details


def test_streams_past_the_limit_are_refused_at_once(small: Running) -> None:
    target = f"127.0.0.1:{small.port}"
    with IdleStreams(target, live=4, watch=2, channels=1, prefix="full") as holder:
        assert (holder.held.live_open, holder.held.watch_open) == (4, 2)
        # one count of open streams, the admission's: the limit, the gauge and the stats agree
        assert small.pools is not None and small.metrics is not None
        assert (small.pools.open_streams()["live"], small.pools.open_streams()["watch"]) == (4, 2)
        gauge = small.metrics.registry.get_sample_value("vocscore_interaction_streams")
        assert gauge == 4
        with VocClient(target) as client:
            started = time.monotonic()
            extra = OpenStream(client, "full-extra")
            with pytest.raises(grpc.RpcError) as refused:
                extra.say("你好")
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            watcher = client.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=10)
            with pytest.raises(grpc.RpcError) as refused_watch:
                next(watcher)
            assert refused_watch.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert time.monotonic() - started < 5  # refused, not queued until a slot frees
            client.card("full-C1", timeout=2)  # unary calls are unaffected
    deadline = time.monotonic() + 10  # the slots come back once the server has ended them
    while small.pools.open_streams()["live"] and time.monotonic() < deadline:
        time.sleep(0.05)
    with VocClient(target) as client:
        again = OpenStream(client, "full-after")
        assert again.say("你好").emotion.label
        again.close()


def test_idle_stream_ends_with_deadline_exceeded_and_keeps_its_interaction(
    small: Running,
) -> None:
    with VocClient(f"127.0.0.1:{small.port}") as client:
        call = OpenStream(client, "idle-call")
        assert "logistics.delay" in [t.topic for t in call.say("我的快递一周了还没到").topics]
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as ended:
            next(call.replies)  # the client says nothing more
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "idle" in ended.value.details()
        assert 0.5 < time.monotonic() - started < 10
        call.close()
        deadline = time.monotonic() + 5  # the interaction was ended and written, not dropped
        while time.monotonic() < deadline:
            topics = [t.topic for t in client.card("stream-c1").topics]
            if "logistics.delay" in topics:
                break
            time.sleep(0.05)
        assert "logistics.delay" in topics


def test_a_talking_stream_is_not_cut_off(small: Running) -> None:
    with VocClient(f"127.0.0.1:{small.port}") as client:
        call = OpenStream(client, "busy-call")
        started = time.monotonic()
        while time.monotonic() - started < 2.5:  # longer than the 1 s idle limit in total
            call.say("请问还有别的办法吗")
            time.sleep(0.3)
        call.close()


def test_idle_watchers_are_not_cut_off(small: Running) -> None:
    """A watcher only listens: the idle limit is for streams whose client should be talking."""
    with VocClient(f"127.0.0.1:{small.port}") as client:
        watcher = client.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=2.5)
        failure: list[grpc.RpcError] = []

        def read() -> None:
            try:
                next(watcher)
            except grpc.RpcError as exc:
                failure.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(10)
        assert failure and failure[0].code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "idle" not in (failure[0].details() or "")  # the client's own deadline


def test_the_futex_hash_is_sized_for_the_stream_threads(small: Running) -> None:
    """Linux 6.16+ hashes sleeping threads into 16 buckets on 2 cores unless told otherwise."""
    libc = ctypes.CDLL(None, use_errno=True)
    current = libc.prctl(78, 2, 0, 0, 0)  # PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS
    if current < 0:
        pytest.skip("this kernel has no per-process futex hash")
    assert small.pools is not None
    threads = small.pools.max_threads()
    assert small.pools.futex_slots >= threads
    assert current >= threads
    assert widen_futex_hash(threads) == current  # already wide enough: left as it is


def test_a_watcher_that_leaves_is_let_go_at_once(small: Running) -> None:
    """An idle watcher's wait is minutes long (server/hub.py): the RPC's end must close it."""
    assert small.pools is not None
    hub = small.service.require_triggers().hub
    with VocClient(f"127.0.0.1:{small.port}") as client:
        watcher = client.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=30)
        watcher.initial_metadata()  # admitted; it subscribes right after
        wait_until(lambda: hub.subscribers == 1, 3)
        assert small.pools.open_streams()["watch"] == 1
        watcher.cancel()
        wait_until(lambda: small.pools.open_streams()["watch"] == 0, 3)
        assert small.pools.open_streams()["watch"] == 0
        assert hub.subscribers == 0


def test_stream_settings_are_checked() -> None:
    from server.config import ConfigError

    with pytest.raises(ConfigError, match="stream_idle_s"):
        make_config(Path("/tmp/unused"), server={"stream_idle_s": -1})
