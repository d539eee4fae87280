"""State on every core: with the default worker processes, a reload over RPC reaches every
worker, an interaction split over connections scores as in one process, and a trend signal
survives the clean stop of the worker that took it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from clients.client import VocClient
from clients.pb import voc_pb2
from server.workers import children_of, free_port

ROOT = Path(__file__).resolve().parent.parent
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)
NEW_TERM = "zorbfluxdelay"  # added to a user lexicon by the reload test, matched by no pack
SCRIPT = [  # (speaker, text): a call whose anger climbs, then eases
    ("CUSTOMER", "我的快递一周了还没到"),
    ("AGENT", "非常抱歉，我马上帮您查一下"),
    ("CUSTOMER", "你们到底怎么回事！！！再不解决我就投诉"),
    ("CUSTOMER", "退款申请了十天还没到账，太气人了"),
    ("AGENT", "我已经帮您加急处理"),
    ("CUSTOMER", "好吧，谢谢"),
]


class Server:
    """`python -m server --workers 2` in a subprocess: two workers and the trigger owner."""

    def __init__(self, tmp: Path, lexdir: Path) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        config = tmp / "voc.toml"
        config.write_text(
            f'[lexicons]\nextra_dirs = ["{lexdir}"]\n'
            # a signal of a topic never seen before fires P1 at once: a lost signal shows
            "[weak_signals]\nmin_count = 1\ngrowth_ratio = 1.0\nwarmup_buckets = 0\n"
        )
        env = {**os.environ, "VOC_METRICS_LISTEN": "", "VOC_SERVER_GRACE_S": "2"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--workers", "2", "--config", str(config),
             "--listen", self.target, "--store", str(tmp / "store"), "--log-format", "text"],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        with VocClient(self.target, timeout=10) as probe:
            probe.wait_until_serving(60)

    def client(self) -> VocClient:
        """A client on a connection of its own (the kernel picks its worker)."""
        return VocClient(self.target, timeout=10, channel_options=OWN_CONNECTION)

    def client_on(self, pid: int, deadline_s: float = 30) -> VocClient:
        """A client whose connection landed on worker `pid`."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            client = self.client()
            try:
                if client.stats().pid == pid:
                    return client
            except Exception:
                client.close()
                raise
            client.close()
        raise AssertionError(f"no connection reached worker {pid}")

    def workers(self, deadline_s: float = 60) -> list[int]:
        """The worker pids answering on the port (every worker, once both are up)."""
        pids: set[int] = set()
        deadline = time.monotonic() + deadline_s
        while len(pids) < 2 and time.monotonic() < deadline:
            with self.client() as probe:
                try:
                    pids.add(probe.stats().pid)
                except Exception:  # a worker still starting refuses for a moment
                    time.sleep(0.1)
        assert len(pids) == 2, pids
        return sorted(pids)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, log = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return log


@pytest.fixture(scope="module")
def lexdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lex")
    (folder / "zh").mkdir()
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, lexdir: Path) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("state"), lexdir)
    try:
        yield running
    finally:
        log = running.stop()
        assert running.proc.returncode == 0, log[-3000:]


def _until(what: Callable[[], bool], deadline_s: float = 20) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.1)
    return what()


def test_a_reload_over_rpc_reaches_every_worker(server: Server, lexdir: Path) -> None:
    workers = server.workers()
    for pid in workers:
        with server.client_on(pid) as before:
            terms = [m.term for m in before.score(f"pre-{pid}", NEW_TERM, customer_id="s1").matches]
            assert NEW_TERM not in terms
    (lexdir / "zh" / "topics.tsv").write_text(
        f"term\ttopic\tweight\tpolarity\tnotes\n{NEW_TERM}\tlogistics.delay\t0.9\tcomplaint\t\n"
    )
    with server.client() as admin:
        version = admin.reload_lexicons().version
    # no waiting: once the RPC returned, every worker answers with the new version
    for pid in workers:
        with server.client_on(pid) as after:
            score = after.score(f"post-{pid}", NEW_TERM, customer_id="s1")
            assert NEW_TERM in [m.term for m in score.matches], pid
            assert score.lexicon_version == version
    with server.client() as admin:
        processes = admin.stats().processes
    owner = [p for p in children_of(server.proc.pid) if p not in workers]
    assert sorted(p.pid for p in processes) == sorted([*workers, *owner])
    assert {p.role for p in processes} == {"worker", "owner"}
    assert {p.lexicon_version for p in processes} == {version}


def test_a_broken_file_leaves_every_worker_on_its_version(server: Server, lexdir: Path) -> None:
    with server.client() as admin:
        before_states = admin.stats().processes
    before = {(p.pid, p.lexicon_version) for p in before_states}
    seq_before = [p.reload_seq for p in before_states]
    bad = lexdir / "zh" / "broken.tsv"
    bad.write_text(
        "term\ttopic\tweight\tpolarity\tnotes\n退款慢\tno.such.topic\t0.9\tcomplaint\t\n"
    )
    try:
        with server.client() as admin:
            with pytest.raises(grpc.RpcError) as err:
                admin.reload_lexicons()
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert f"{bad}:1:" in err.value.details()  # not a lexicon kind
            seqs: set[int] = set()
            deadline = time.monotonic() + 10  # the other processes fail alike, a moment later
            while time.monotonic() < deadline:
                processes = admin.stats().processes
                seqs = {p.reload_seq for p in processes}
                if len(seqs) == 1 and len(processes) == len(before):
                    break
                time.sleep(0.05)
            after = {(p.pid, p.lexicon_version) for p in processes}
    finally:
        bad.unlink()
    assert after == before
    # each process recorded the failed reload's counter (with its error): none is pending
    assert seqs == {max(seq_before) + 1}


def _run(clients: list[VocClient], iid: str, cid: str, t0: int) -> tuple[list, object]:
    """Scores SCRIPT through `clients` in turn (each utterance on the next connection) and ends
    the interaction on the last; returns each reply's running state and the summary."""
    steps = []
    for i, (speaker, text) in enumerate(SCRIPT):
        client = clients[i % len(clients)]
        score = client.score(
            iid, text, customer_id=cid, agent_id="A1", speaker=speaker, ts_ms=t0 + 4000 * i
        )
        live = score.live
        steps.append((live.label, round(live.valence, 6), round(live.intensity, 6),
                      score.escalation))  # fmt: skip
    summary = clients[-1].end_interaction(iid, customer_id=cid)
    summary.interaction_id = summary.customer_id = ""
    return steps, summary


def test_an_interaction_split_over_connections_scores_as_in_one_process(server: Server) -> None:
    workers = server.workers()
    t0 = int(time.time() * 1000) - 60_000
    with server.client_on(workers[0]) as one:
        expected_steps, expected_summary = _run([one], "one-conn", "split-a", t0)
    clients = [server.client_on(pid) for pid in (*workers, *workers)]
    try:
        steps, summary = _run(clients, "split-conn", "split-b", t0)
        assert [c.stats().pid for c in clients[:2]] == workers  # alternated between workers
    finally:
        for client in clients:
            client.close()
    assert any(step[3] for step in expected_steps)  # the script escalates once
    assert steps == expected_steps
    assert summary == expected_summary
    with server.client() as other:  # ended for every worker
        with pytest.raises(Exception, match="has ended"):
            other.score("split-conn", "还在吗", customer_id="split-b")


def test_a_trend_signal_survives_a_clean_stop_of_its_worker(server: Server) -> None:
    pid = server.workers()[0]
    with server.client_on(pid) as client:
        client.score("trend-1", "付款失败好几次了", customer_id="trend-c")
    os.kill(pid, signal.SIGTERM)  # right after the reply: the worker drains and exits

    def fired() -> bool:
        # a connection may land on the stopping worker's closing listener: ask again
        with server.client() as watcher:
            try:
                listed = watcher.list_triggers()
            except grpc.RpcError:
                return False
        return any(t.level == voc_pb2.P1 and t.key == "payment.failure" for t in listed)

    assert _until(fired), "the payment.failure signal was lost with its worker"


def test_a_restarted_worker_serves_the_reloaded_lexicons(server: Server, lexdir: Path) -> None:
    (lexdir / "zh" / "topics.tsv").write_text(
        f"term\ttopic\tweight\tpolarity\tnotes\n{NEW_TERM}\tlogistics.delay\t0.9\tcomplaint\t\n"
    )
    with server.client() as admin:
        version = admin.reload_lexicons().version
    before = server.workers()
    os.kill(before[0], signal.SIGKILL)  # the supervisor starts it again from its own copy
    time.sleep(1.0)
    (fresh,) = set(server.workers()) - set(before)
    with server.client_on(fresh) as client:
        score = client.score("after-restart", NEW_TERM, customer_id="s2")
    assert NEW_TERM in [m.term for m in score.matches] and score.lexicon_version == version
