"""Live scoring over gRPC: streams, unary scoring, ending, expiry, reloads under load."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import pytest

from clients.client import VocClient
from clients.pb import voc_pb2
from server.app import build_server
from tests.conftest import make_config


def utterance(iid: str, text: str, cid: str = "live-c1", speaker=voc_pb2.CUSTOMER, **kw):
    fields = {"channel": voc_pb2.VOICE, "agent_id": "agent-1"} | kw
    return voc_pb2.Utterance(
        interaction_id=iid, customer_id=cid, speaker=speaker, text=text, **fields
    )


def test_stream_from_calm_to_angry_then_card_lists_topic(client: VocClient) -> None:
    texts = ["你好", "我的快递一周了还没到", "你们到底怎么回事！！！再不解决我就投诉"]
    replies = list(
        client.voc.StreamInteraction(iter(utterance("call-1", t) for t in texts), timeout=10)
    )
    assert [r.emotion.label for r in replies][0] == "CALM"
    assert replies[2].emotion.label == "ANGRY" and replies[2].live.label == "ANGRY"
    assert [r.escalation for r in replies] == [False, False, True]
    assert "logistics.delay" in [t.topic for t in replies[1].topics]
    assert replies[1].matches and replies[1].lexicon_version
    card = client.card("live-c1")
    assert "logistics.delay" in [t.topic for t in card.topics]
    assert card.emotion.label == "ANGRY"
    # the stream's close ended the interaction; ending it again returns what was written
    again = client.voc.EndInteraction(
        voc_pb2.EndInteractionRequest(interaction_id="call-1"), timeout=5
    )
    assert again.escalated and [t.topic for t in again.topics][:1] == ["logistics.delay"]


def test_unary_scoring_shows_live_emotion_on_card_then_end(client: VocClient) -> None:
    for text in ["I'm calling about my order", "This is ridiculous, I was charged twice!!!"]:
        score = client.voc.ScoreUtterance(
            utterance("chat-9", text, cid="live-c2", channel=voc_pb2.CHAT), timeout=5
        )
    assert score.emotion.valence < 0
    assert "payment.double_charge" in [t.topic for t in score.topics]
    card = client.card("live-c2", interaction_id="chat-9", locale="en")
    assert card.emotion.valence < 0
    summary = client.voc.EndInteraction(
        voc_pb2.EndInteractionRequest(interaction_id="chat-9", customer_id="live-c2"), timeout=5
    )
    assert summary.utterances == 2 and summary.topics[0].topic == "payment.double_charge"
    assert "payment.double_charge" in [t.topic for t in client.card("live-c2").topics]


def test_agent_utterances_do_not_move_customer_emotion(client: VocClient) -> None:
    score = client.voc.ScoreUtterance(
        utterance("call-a", "非常抱歉，让您久等了，气死了", cid="", speaker=voc_pb2.AGENT),
        timeout=5,
    )
    assert score.live.label == "CALM"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"interaction_id": ""}, "interaction_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"text": ""}, "text"),
        ({"text": "长" * 5000}, "text"),
        ({"speaker": 0}, "speaker"),
        ({"speaker": 9}, "speaker"),
        ({"channel": 99}, "channel"),
        ({"voice": voc_pb2.Voice(speech_rate=-1)}, "voice.speech_rate"),
        ({"typing": voc_pb2.Typing(chars=-5)}, "typing.chars"),
        ({"ts_ms": int(time.time() * 1000) + 86_400_000}, "ts_ms"),
    ],
)
def test_bad_utterances(client: VocClient, kw, field) -> None:
    fields = {
        "interaction_id": "bad-1",
        "customer_id": "c",
        "speaker": voc_pb2.CUSTOMER,
        "text": "你好",
    } | kw
    with pytest.raises(grpc.RpcError) as info:
        client.voc.ScoreUtterance(voc_pb2.Utterance(**fields), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(field)


def test_stream_rejects_a_second_interaction(client: VocClient) -> None:
    msgs = [utterance("s-1", "你好", cid="c-s"), utterance("s-2", "你好", cid="c-s")]
    replies = client.voc.StreamInteraction(iter(msgs), timeout=5)
    assert next(replies).interaction_id == "s-1"
    with pytest.raises(grpc.RpcError) as info:
        next(replies)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "interaction_id" in info.value.details()


def test_end_unknown_interaction_is_not_found(client: VocClient) -> None:
    with pytest.raises(grpc.RpcError) as info:
        client.voc.EndInteraction(voc_pb2.EndInteractionRequest(interaction_id="nope"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_reload_under_load_fails_no_request(client: VocClient) -> None:
    errors: list[Exception] = []
    done = threading.Event()
    count = 0

    def load() -> None:
        nonlocal count
        while not done.is_set():
            try:
                client.voc.ScoreUtterance(
                    utterance("reload-1", "快递三天了还没到，气死了"), timeout=5
                )
                client.card("live-c1")
                count += 1
            except grpc.RpcError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        versions = {client.reload_lexicons(timeout=30).version for _ in range(3)}
    finally:
        done.set()
        for t in threads:
            t.join()
    assert not errors and count > 0 and len(versions) == 1


def test_idle_interactions_are_written_out(tmp_path: Path) -> None:
    running = build_server(make_config(tmp_path, live={"idle_s": 0.2, "sweep_s": 0.1}))
    try:
        with VocClient(f"127.0.0.1:{running.port}") as c:
            c.voc.ScoreUtterance(
                utterance("idle-1", "退款申请了十天还没到账", cid="idle-c"), timeout=5
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and running.service.stats()["live_interactions"]:
                time.sleep(0.05)
            card = c.card("idle-c")
        assert "refund.delay" in [t.topic for t in card.topics]
    finally:
        running.stop(grace=0.2)


def test_shutdown_writes_live_interactions(tmp_path: Path) -> None:
    running = build_server(make_config(tmp_path))
    with VocClient(f"127.0.0.1:{running.port}") as c:
        c.voc.ScoreUtterance(
            utterance("open-1", "账号登不上去，验证码一直收不到", cid="open-c"), timeout=5
        )
    running.stop(grace=0.2)
    running = build_server(make_config(tmp_path))
    try:
        with VocClient(f"127.0.0.1:{running.port}") as c:
            assert "account.login" in [t.topic for t in c.card("open-c").topics]
    finally:
        running.stop(grace=0.2)
