"""Cluster mode, first slice: two real server processes on one real Redis share the live
interactions, so a call scored alternately on both nodes scores as on one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from clients.client import VocClient
from server.workers import free_port
from tests.redis_server import RedisServer
from tests.test_state import SCRIPT, _run

ROOT = Path(__file__).resolve().parent.parent


class Node:
    """`python -m server --workers 1` over its own store, in the cluster of `redis_url`."""

    def __init__(self, folder: Path, redis_url: str) -> None:
        self.target = f"127.0.0.1:{free_port()}"
        env = {**os.environ, "VOC_METRICS_LISTEN": "", "VOC_SERVER_GRACE_S": "2",
               "VOC_CLUSTER_REDIS_URL": redis_url}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--workers", "1", "--listen", self.target,
             "--store", str(folder / "store"), "--log-format", "text"],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.client = VocClient(self.target, timeout=10)
        self.client.wait_until_serving(60)

    def stop(self) -> str:
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, log = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        return log


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[tuple[Node, Node]]:
    redis_server.client.flushall()
    started: list[Node] = []
    try:
        for name in ("a", "b"):
            started.append(Node(tmp_path_factory.mktemp(f"node-{name}"), redis_server.url))
        yield started[0], started[1]
    finally:
        logs = [node.stop() for node in started]
        for node, log in zip(started, logs, strict=True):
            assert node.proc.returncode == 0, log[-3000:]


def test_a_call_scored_on_two_nodes_scores_as_on_one(
    nodes: tuple[Node, Node], redis_server: RedisServer
) -> None:
    a, b = nodes
    t0 = int(time.time() * 1000) - 60_000  # both runs see the same utterance times
    expected_steps, expected_summary = _run([a.client], "one-node", "cl-one", t0)
    steps, summary = _run([a.client, b.client], "two-nodes", "cl-two", t0)  # ends on B
    assert any(step[3] for step in expected_steps)  # the script escalates once
    assert steps == expected_steps  # running emotion and escalation, utterance by utterance
    assert summary == expected_summary  # topics, peak emotion, counts
    assert [t.topic for t in summary.topics]  # the script has complaint topics
    assert summary.utterances == sum(who == "CUSTOMER" for who, _ in SCRIPT) and summary.escalated
    assert redis_server.client.keys(b"voc:live:*") == []  # ended: nothing left live
    card = b.client.card("cl-two")  # the ending node wrote the profile
    assert {t.topic for t in card.topics} >= {t.topic for t in summary.topics}


def test_a_card_on_one_node_shows_the_live_emotion_of_a_call_on_the_other(
    nodes: tuple[Node, Node], redis_server: RedisServer
) -> None:
    a, b = nodes
    score = b.client.score(
        "live-card", "你们到底怎么回事！！！再不解决我就投诉", customer_id="cl-3"
    )
    assert redis_server.client.exists(b"voc:live:live-card")
    card = a.client.card("cl-3", interaction_id="live-card")
    assert card.emotion.label == score.live.label != ""
    assert round(card.emotion.intensity, 6) == round(score.live.intensity, 6)
    assert b.client.end_interaction("live-card", customer_id="cl-3").utterances == 1


def test_a_call_ended_on_one_node_is_refused_on_the_other(
    nodes: tuple[Node, Node], redis_server: RedisServer
) -> None:
    a, b = nodes
    a.client.score("one-life", "快递一周了还没到", customer_id="cl-4")
    ended = a.client.end_interaction("one-life", customer_id="cl-4")
    assert redis_server.client.exists(b"voc:done:one-life")
    with pytest.raises(grpc.RpcError) as err:
        b.client.score("one-life", "还没到", customer_id="cl-4")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "has ended" in err.value.details()
    assert redis_server.client.keys(b"voc:live:*") == []  # no second life opened
    again = b.client.end_interaction("one-life")  # a retried End on the other node
    assert again.utterances == ended.utterances == 1 and again.topics == ended.topics
