"""A hostile or buggy client against the report windows, the tag slots and live interactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

import kernels
from clients.client import VocClient
from clients.pb import voc_pb2
from server.config import ConfigError
from server.engine import Engine
from server.errors import FailedPrecondition, NotFound, ResourceExhausted, StoreFullError
from server.interactions import Interactions, UtteranceIn
from server.service import VocService
from server.store import MAX_ID_BYTES, Store
from server.trigger_rules import ReportIn, TriggerParams
from tests.conftest import make_config
from tests.test_triggers import T0, Clock, Harness


@pytest.fixture(scope="module")
def scoring() -> Engine:
    kernels.warmup()
    return Engine(make_config(Path("/nonexistent")))


@pytest.fixture
def harness(tmp_path: Path, scoring: Engine) -> Iterator[Harness]:
    h = Harness(tmp_path / "store", scoring)
    yield h
    h.store.close()


# -- windows that a single report cannot bend -------------------------------------------------


def test_a_future_dated_report_cannot_push_nine_agents_out_of_the_window(
    harness: Harness,
) -> None:
    """The 9 + 1 attack: nine agents report, one agent dates its report now + 299 s (inside the
    clock slack); the window must not move past the server's clock, so nobody's report expires
    early and the tenth real agent still finds the P0 fired."""
    for i in range(9):
        ack = harness.report(f"r{i}", f"A{i}")
    assert ack.distinct_agents == 9
    harness.clock.now += 10_000
    attack = harness.service.report(_report("x1", "X", harness.clock.now + 299_000))
    assert attack.distinct_agents == 10  # counted now, beside the nine, never instead of them
    last = harness.report("r9", "A9")
    assert last.distinct_agents == 11
    fired = harness.triggers.list()
    assert [t["key"] for t in fired] == ["支付失败"] and fired[0]["fired_ms"] <= harness.clock.now


def test_a_late_dated_report_lowers_nobody(harness: Harness) -> None:
    for i in range(9):
        harness.report(f"r{i}", f"A{i}")
    late = harness.service.report(_report("x1", "X", T0 - 299_000))
    assert late.distinct_agents == 10 and late.trigger is not None


def test_future_reports_are_journaled_at_server_time_and_rebuilt_alike(harness: Harness) -> None:
    harness.service.report(_report("x1", "X", T0 + 299_000))
    for i in range(5):
        harness.report(f"r{i}", f"A{i}")
    harness.restart()
    harness.clock.now = T0 + 299_000  # all six were counted at T0: still in the window
    assert harness.report("r5", "A5").distinct_agents == 7
    harness.clock.now = T0 + 300_500
    assert harness.report("r6", "A6").distinct_agents == 2  # A5 and A6: the T0 six are out


def _report(rid: str, agent: str, ts_ms: int, tag: str = "支付失败") -> ReportIn:
    return ReportIn(rid, agent, tag, ts_ms=ts_ms)


# -- tag slots no agent can exhaust -----------------------------------------------------------


def test_one_agent_flooding_junk_tags_cannot_block_a_p0(harness: Harness) -> None:
    """255 junk tags from one agent: past its per-agent bound they are refused, naming the
    agent and the config key; ten other agents then fire the P0 on 支付失败 as usual."""
    quota = harness.triggers.params.reports.max_new_tags_per_agent
    refused = 0
    for i in range(255):
        try:
            harness.report(f"junk-{i}", "JUNK", f"junk tag {i}")
        except ResourceExhausted as e:
            assert "JUNK" in str(e) and "max_new_tags_per_agent" in str(e)
            refused += 1
    assert refused == 255 - quota
    acks = [harness.report(f"p{i}", f"A{i}") for i in range(10)]
    assert [a.distinct_agents for a in acks] == list(range(1, 11))
    assert acks[-1].trigger is not None and acks[-1].trigger["key"] == "支付失败"
    # the junk agent may still report tags that already have a window
    assert harness.report("junk-more", "JUNK").distinct_agents == 11


def test_the_bound_over_grpc_is_resource_exhausted_and_others_still_fire(
    client: VocClient,
) -> None:
    for i in range(8):
        client.report(f"grpc-junk-{i}", "grpc-junk-agent", f"grpc junk {i}")
    with pytest.raises(grpc.RpcError) as info:
        client.report("grpc-junk-8", "grpc-junk-agent", "grpc junk 8")
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "grpc-junk-agent" in info.value.details()
    acks = [client.report(f"grpc-p{i}", f"grpc-a{i}", "grpc 支付失败") for i in range(10)]
    assert acks[-1].distinct_agents == 10 and acks[-1].HasField("trigger")


def test_the_bound_is_per_window(tmp_path: Path, scoring: Engine) -> None:
    h = Harness(tmp_path / "s", scoring, reports={"max_new_tags_per_agent": 2})
    h.report("j1", "J", "junk one")
    h.report("j2", "J", "junk two")
    with pytest.raises(ResourceExhausted, match="agent_id"):
        h.report("j3", "J", "junk three")
    h.clock.now += 300_000  # its openings left the window
    assert h.report("j4", "J", "junk three").distinct_agents == 1
    h.store.close()


def test_many_junk_agents_filling_every_slot_cannot_block_a_p0(
    tmp_path: Path, scoring: Engine
) -> None:
    """With every kernel slot held by a one-agent junk tag, a tag that several agents report
    takes the slot of the weakest tag; a tag with more agents is never evicted for junk."""
    h = Harness(tmp_path / "s", scoring, reports={"max_tags": 4, "max_new_tags_per_agent": 2})
    for i in range(3):
        assert h.report(f"s{i}", f"S{i}", "网络故障").distinct_agents == i + 1
    for j in range(20):  # 40 junk tags from 20 agents, far more than the 4 slots
        for k in range(2):
            h.report(f"j{j}-{k}", f"J{j}", f"junk {j} {k}")
    acks = [h.report(f"p{i}", f"A{i}") for i in range(10)]
    assert [a.distinct_agents for a in acks] == list(range(1, 11))
    assert acks[-1].trigger is not None and acks[-1].trigger["count"] == 10
    # the three-agent tag kept its window through the flood
    assert h.report("s3", "S3", "网络故障").distinct_agents == 4
    h.store.close()


def test_a_tag_waiting_for_a_slot_keeps_its_agents_across_a_restart(
    tmp_path: Path, scoring: Engine
) -> None:
    h = Harness(tmp_path / "s", scoring, reports={"max_tags": 2, "threshold": 3})
    for i in range(2):
        h.report(f"s{i}", f"S{i}", "tag one")
        h.report(f"t{i}", f"S{i}", "tag two")
    assert h.report("w0", "W0", "tag three").distinct_agents == 1  # waits: 1 < 2
    h.restart()
    assert h.report("w1", "W1", "tag three").distinct_agents == 2
    ack = h.report("w2", "W2", "tag three")
    assert ack.distinct_agents == 3 and ack.trigger is not None
    assert h.report("s2", "S2", "tag one").distinct_agents == 3  # tag one still counted
    h.store.close()


def test_bad_new_tag_bound_is_named() -> None:
    cfg = make_config(Path("/nonexistent"), reports={"max_new_tags_per_agent": 0})
    with pytest.raises(ConfigError, match="max_new_tags_per_agent"):
        TriggerParams.from_config(cfg)


# -- interactions with one life ---------------------------------------------------------------


class LiveHarness:
    """A VocService with its live interactions over one store, on a clock the test moves."""

    def __init__(self, path: Path, scoring: Engine, *, max_map_size_mb: int = 0, **live) -> None:
        self.cfg = make_config(path, live=live)
        self.clock = Clock()
        self.store = Store(path, map_size_mb=1 if max_map_size_mb else 64,
                           max_map_size_mb=max_map_size_mb)  # fmt: skip
        self.interactions = Interactions.from_config(
            self.cfg, self.store, scoring, clock=self.clock
        )
        self.service = VocService(
            self.cfg, self.store, scoring, self.clock, interactions=self.interactions
        )

    def say(self, iid: str, text: str, cid: str = "c1"):
        return self.interactions.score(UtteranceIn(iid, cid, "agent-1", "CUSTOMER", "VOICE", text))

    def topics_of(self, cid: str) -> list[str]:
        return [t.topic for t in self.service.card(cid, "", "zh").topics]


@pytest.fixture
def live(tmp_path: Path, scoring: Engine) -> Iterator[LiveHarness]:
    h = LiveHarness(tmp_path / "store", scoring)
    yield h
    h.interactions.stop()
    h.store.close()


def test_scoring_an_ended_interaction_is_refused(live: LiveHarness) -> None:
    live.say("call-1", "我的快递一周了还没到")
    first = live.interactions.end("call-1")
    with pytest.raises(FailedPrecondition, match="interaction_id: 'call-1' has ended"):
        live.say("call-1", "退款申请了十天还没到账")
    assert live.interactions.end("call-1") == first  # nothing was added to it
    assert len(live.interactions) == 0


def test_a_second_end_returns_the_same_stored_summary(live: LiveHarness) -> None:
    live.say("call-2", "我的快递一周了还没到")
    live.say("call-2", "你们到底怎么回事！！！再不解决我就投诉")
    first = live.interactions.end("call-2")
    again = live.interactions.end("call-2")
    assert again == first and first.summary.customer_utterance_count == 2
    assert "logistics.delay" in [t.topic for t in first.summary.topics]


def test_an_interaction_without_customer_words_also_has_one_life(live: LiveHarness) -> None:
    live.interactions.score(UtteranceIn("call-3", "", "agent-1", "AGENT", "VOICE", "您好"))
    assert live.interactions.end("call-3").summary.utterance_count == 1
    assert live.interactions.end("call-3").summary.utterance_count == 1
    with pytest.raises(FailedPrecondition, match="call-3"):
        live.interactions.score(UtteranceIn("call-3", "", "agent-1", "AGENT", "VOICE", "您好"))


def _race_end_and_scores(live: LiveHarness, iid: str) -> tuple[object, int]:
    """Four threads score while End runs; returns End's summary and the utterances acked."""
    live.say(iid, "我的快递一周了还没到")
    acked = [1]
    start = threading.Barrier(5)

    def scorer() -> None:
        start.wait()
        for _ in range(20):
            try:
                live.say(iid, "退款申请了十天还没到账")
            except FailedPrecondition:
                return
            acked.append(1)  # list.append is atomic: one entry per acknowledged utterance

    threads = [threading.Thread(target=scorer) for _ in range(4)]
    for t in threads:
        t.start()
    start.wait()
    ended = live.interactions.end(iid)
    for t in threads:
        t.join()
    return ended, len(acked)


def test_end_racing_score_stores_every_acknowledged_utterance(live: LiveHarness) -> None:
    for round_ in range(20):
        ended, acked = _race_end_and_scores(live, f"race-{round_}")
        assert ended.summary.customer_utterance_count == acked, round_
        assert live.interactions.end(f"race-{round_}") == ended


def _two_ends(live: LiveHarness, iid: str) -> list[object]:
    live.say(iid, "我的快递一周了还没到")
    start = threading.Barrier(2)
    results: list[object] = []

    def end() -> None:
        start.wait()
        try:
            results.append(live.interactions.end(iid))
        except NotFound as e:
            results.append(e)

    threads = [threading.Thread(target=end) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_ends_at_once_both_get_the_summary(live: LiveHarness) -> None:
    """EndInteraction while a stream's own end is writing must not answer NOT_FOUND."""
    for round_ in range(30):
        results = _two_ends(live, f"twice-{round_}")
        assert not [r for r in results if isinstance(r, NotFound)], round_
        assert results[0] == results[1]


def test_a_failed_write_keeps_the_live_state(tmp_path: Path, scoring: Engine) -> None:
    h = LiveHarness(tmp_path / "tiny", scoring, max_map_size_mb=2)
    try:
        h.say("full-1", "我的快递一周了还没到", cid="full-c")
        filler = "x" * 100_000
        n = 0
        with pytest.raises(StoreFullError):
            while True:  # fill the map up to its limit with a blob per key
                h.store.write(lambda tx, n=n: tx.put("meta", f"fill{n}".encode(), filler))
                n += 1
        with pytest.raises(StoreFullError):
            h.interactions.end("full-1")
        assert len(h.interactions) == 1 and h.interactions.live_emotion("full-1") is not None
        for i in range(n):  # room again
            h.store.write(lambda tx, i=i: tx.delete("meta", f"fill{i}".encode()))
        ended = h.interactions.end("full-1")
        assert "logistics.delay" in [t.topic for t in ended.summary.topics]
        assert "logistics.delay" in h.topics_of("full-c")
    finally:
        h.interactions.stop()
        h.store.close()


def test_the_live_cap_writes_out_the_least_recently_active(tmp_path: Path, scoring: Engine) -> None:
    h = LiveHarness(tmp_path / "cap", scoring, max_live=3)
    try:
        for i in range(3):
            h.say(f"cap-{i}", "我的快递一周了还没到", cid=f"cap-c{i}")
            h.clock.now += 1000
        h.say("cap-1", "你们到底怎么回事", cid="cap-c1")  # cap-0 is now the least recently active
        h.say("cap-3", "退款申请了十天还没到账", cid="cap-c3")  # at the cap: not refused
        assert len(h.interactions) == 3
        assert h.interactions.live_emotion("cap-0") is None  # written out ...
        assert "logistics.delay" in h.topics_of("cap-c0")  # ... to its customer's profile
        # a written-out interaction is not ended: it goes on, and its End covers both parts
        h.say("cap-0", "退款申请了十天还没到账", cid="cap-c0")
        ended = h.interactions.end("cap-0")
        assert ended.summary.customer_utterance_count == 2
        assert {"logistics.delay", "refund.delay"} <= {t.topic for t in ended.summary.topics}
        assert h.interactions.end("cap-0") == ended
    finally:
        h.interactions.stop()
        h.store.close()


def test_shutdown_drains_every_live_interaction_in_batches(tmp_path: Path, scoring: Engine) -> None:
    h = LiveHarness(tmp_path / "drain", scoring)
    try:
        for i in range(1500):
            h.say(f"drain-{i}", "我的快递一周了还没到", cid=f"drain-c{i}")
        written = h.interactions.stop()
        assert written == 1500 and len(h.interactions) == 0
        assert all("logistics.delay" in h.topics_of(f"drain-c{i}") for i in (0, 777, 1499))
        # written out is not ended: End ends it, and only then is it refused
        assert h.interactions.end("drain-5").summary.customer_utterance_count == 1
        with pytest.raises(FailedPrecondition, match="drain-5"):
            h.say("drain-5", "我的快递一周了还没到", cid="drain-c5")
        h.say("drain-6", "退款申请了十天还没到账", cid="drain-c6")
        assert h.interactions.end("drain-6").summary.customer_utterance_count == 2
    finally:
        h.store.close()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ("score_iid", "interaction_id"),
        ("score_cid", "customer_id"),
        ("score_aid", "agent_id"),
        ("end_iid", "interaction_id"),
        ("card_cid", "customer_id"),
        ("report_rid", "report_id"),
    ],
)
def test_ids_are_checked_in_utf8_bytes(client: VocClient, call: str, field: str) -> None:
    """127 four-byte characters pass a character limit of 128 but not LMDB's 511-byte keys."""
    big = "\U0001f600" * 127
    assert len(big) <= 128 and len(big.encode()) > MAX_ID_BYTES
    u = {"interaction_id": "bytes-1", "customer_id": "bytes-c", "agent_id": "bytes-a"}
    with pytest.raises(grpc.RpcError) as info:
        if call.startswith("score"):
            u[field] = big
            client.voc.ScoreUtterance(
                voc_pb2.Utterance(speaker=voc_pb2.CUSTOMER, text="你好", **u), timeout=5
            )
        elif call == "end_iid":
            client.voc.EndInteraction(voc_pb2.EndInteractionRequest(interaction_id=big), timeout=5)
        elif call == "card_cid":
            client.card(big)
        else:
            client.voc.ReportIssue(
                voc_pb2.IssueReport(report_id=big, agent_id="bytes-a", tag="支付失败"), timeout=5
            )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(field + ":") and "bytes" in info.value.details()


def test_an_id_at_the_byte_limit_works(client: VocClient) -> None:
    at_limit = "\U0001f600" * 125 + "abc"  # 128 characters, 503 bytes
    assert len(at_limit) == 128 and len(at_limit.encode()) == MAX_ID_BYTES
    assert not client.card(at_limit).known
    u = voc_pb2.Utterance(interaction_id=at_limit, customer_id=at_limit,
                          speaker=voc_pb2.CUSTOMER, text="我的快递一周了还没到")  # fmt: skip
    client.voc.ScoreUtterance(u, timeout=5)
    end = voc_pb2.EndInteractionRequest(interaction_id=at_limit)
    assert client.voc.EndInteraction(end, timeout=5).interaction_id == at_limit
    assert "logistics.delay" in [t.topic for t in client.card(at_limit).topics]


def test_scoring_an_ended_interaction_over_grpc_is_failed_precondition(client: VocClient) -> None:
    u = voc_pb2.Utterance(interaction_id="grpc-ended", customer_id="grpc-c",
                          speaker=voc_pb2.CUSTOMER, text="我的快递一周了还没到")  # fmt: skip
    client.voc.ScoreUtterance(u, timeout=5)
    client.voc.EndInteraction(voc_pb2.EndInteractionRequest(interaction_id="grpc-ended"), timeout=5)
    with pytest.raises(grpc.RpcError) as info:
        client.voc.ScoreUtterance(u, timeout=5)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "interaction_id" in info.value.details() and "grpc-ended" in info.value.details()


def _drop_stream_then_end(client: VocClient, iid: str) -> voc_pb2.InteractionSummary:
    """A client drops its stream after one reply and at once ends the interaction itself,
    while the server's stream handler is ending it too."""
    u = voc_pb2.Utterance(interaction_id=iid, customer_id="stream-c", agent_id="a1",
                          speaker=voc_pb2.CUSTOMER, text="我的快递一周了还没到")  # fmt: skip
    hold = threading.Event()

    def requests() -> Iterator[voc_pb2.Utterance]:
        yield u
        hold.wait(5)

    call = client.voc.StreamInteraction(requests(), timeout=10)
    next(call)
    call.cancel()
    hold.set()
    return client.voc.EndInteraction(voc_pb2.EndInteractionRequest(interaction_id=iid), timeout=5)


def test_end_racing_a_dropped_streams_own_end_never_answers_not_found(client: VocClient) -> None:
    for i in range(20):
        ended = _drop_stream_then_end(client, f"stream-end-{i}")
        assert ended.utterances == 1 and ended.topics[0].topic == "logistics.delay"
