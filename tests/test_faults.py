"""Faults: kill -9 under write load loses no acknowledged write; a full store refuses writes
clearly and keeps serving reads; a client that drops its stream leaves nothing behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import grpc
import pytest

from clients.client import VocClient, utterance_message
from clients.pb import voc_pb2
from server.app import Running, build_server
from server.workers import free_port
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 4


def start_server(store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """A real `python -m server` (with its worker processes, if any) in a process group of its
    own on a free loopback port; returns once it is SERVING."""
    target = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "VOC_METRICS_LISTEN": "127.0.0.1:0", "VOC_SERVER_THREADS": "8"}
    with log.open("a") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--listen", target, "--store", str(store),
             "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )  # fmt: skip
    with VocClient(target, timeout=5) as client:
        try:
            client.wait_until_serving(60)
        except TimeoutError:
            proc.kill()
            raise AssertionError(f"server did not start: {log.read_text()[-2000:]}") from None
    return proc, target


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL to the server and every process it forked at once, like a crash of the host."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@dataclass
class Ledger:
    """What the writers sent and what the server acknowledged, by id."""

    sent: dict[str, dict] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    reports_sent: dict[str, dict] = field(default_factory=dict)
    reports_acked: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def feedback_args(fid: str, rng: random.Random) -> dict:
    kind = rng.choice(("NPS", "CSAT", "COMMENT"))
    args: dict = {"feedback_id": fid, "customer_id": f"c{rng.randrange(50)}", "kind": kind}
    if kind == "NPS":
        args["score"] = rng.randrange(11)
    elif kind == "CSAT":
        args |= {"score": rng.randrange(1, 6), "agent_id": f"a{rng.randrange(20)}", "text": "还行"}
    else:
        args["text"] = f"快递太慢了 {fid}"
    return args


def report_args(rid: str, rng: random.Random) -> dict:
    return {"report_id": rid, "agent_id": f"a{rng.randrange(30)}",
            "tag": rng.choice(("payment failed", "app crash", "login error")),
            "customer_id": f"c{rng.randrange(50)}"}  # fmt: skip


def write_until_refused(target: str, round_: int, n: int, ledger: Ledger, reports: bool) -> None:
    """Writes unique ids until the server stops answering; records every acknowledgement."""
    rng = random.Random(round_ * 100 + n)
    give_up = time.monotonic() + 60
    with VocClient(target, timeout=5) as client:
        for i in range(100_000):
            if time.monotonic() > give_up:
                ledger.failures.append(f"writer {n}: the server still answers after 60 s")
                return
            fid = f"r{round_}-w{n}-{i}"
            args = feedback_args(fid, rng)
            with ledger.lock:
                ledger.sent[fid] = args
            try:
                client.feedback(**args)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    ledger.failures.append(f"{fid}: {exc.code().name} {exc.details()}")
                return
            with ledger.lock:
                ledger.acked.add(fid)
            if reports and i % 3 == 0:
                rid = f"rep-{fid}"
                rargs = report_args(rid, rng)
                with ledger.lock:
                    ledger.reports_sent[rid] = rargs
                try:
                    client.report(**rargs)
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        ledger.failures.append(f"{rid}: {exc.code().name} {exc.details()}")
                    return
                with ledger.lock:
                    ledger.reports_acked.add(rid)


def reports_answer(target: str) -> bool:
    with VocClient(target, timeout=5) as client:
        try:
            client.report(report_id="probe", agent_id="probe", tag="probe tag")
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                return False
            raise
    return True


def test_kill_9_under_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    store, log = tmp_path / "store", tmp_path / "server.log"
    ledger = Ledger()
    proc, target = start_server(store, log)
    reports = reports_answer(target)
    if reports:
        ledger.reports_sent["probe"] = {
            "report_id": "probe",
            "agent_id": "probe",
            "tag": "probe tag",
        }
        ledger.reports_acked.add("probe")
    try:
        for round_ in range(2):  # kill, restart on the same store, write more, kill again
            writers = [
                threading.Thread(
                    target=write_until_refused, args=(target, round_, n, ledger, reports)
                )
                for n in range(WRITERS)
            ]
            before = len(ledger.acked)
            for w in writers:
                w.start()
            deadline = time.monotonic() + 20
            while len(ledger.acked) < before + 150 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(random.uniform(0, 0.3))
            kill_group(proc)
            for w in writers:
                w.join(timeout=30)
            assert not ledger.failures, ledger.failures[:5]
            assert len(ledger.acked) > before + 100, "the load never got going"
            proc, target = start_server(store, log)

        with VocClient(target, timeout=10) as client:
            stored_before_retries = client.stats().feedback
            for fid in sorted(ledger.acked):
                assert client.feedback(**ledger.sent[fid]).duplicate, f"{fid} was acked but lost"
            # sent but never answered: either committed (a duplicate now) or not at all
            in_flight = set(ledger.sent) - ledger.acked
            assert len(in_flight) <= 2 * WRITERS
            committed_unacked = sum(
                client.feedback(**ledger.sent[fid]).duplicate for fid in sorted(in_flight)
            )
            assert stored_before_retries == len(ledger.acked) + committed_unacked
            assert client.stats().feedback == len(ledger.sent)
            for rid in sorted(ledger.reports_acked):
                assert client.report(**ledger.reports_sent[rid]).duplicate, f"report {rid} lost"
    finally:
        kill_group(proc)


def test_full_store_refuses_writes_by_name_and_keeps_serving_reads(tmp_path: Path) -> None:
    store = tmp_path / "tiny"
    cfg = make_config(store)  # (its `store` parameter is the path: override the section after)
    cfg = replace(cfg, store=replace(cfg.store, map_size_mb=1, max_map_size_mb=2))
    running = build_server(cfg)
    try:
        with VocClient(f"127.0.0.1:{running.port}", timeout=10) as client:
            client.feedback("full-0", "full-c0", "NPS", score=2)
            comment = "物流太慢，客服态度也不好。" * 200  # ~2.6k characters each
            acked, refused = [], None
            for i in range(1, 5000):
                try:
                    client.feedback(f"full-{i}", f"full-c{i}", "CSAT", score=1 + i % 5,
                                    agent_id=f"full-a{i}", text=f"{i} {comment}")  # fmt: skip
                except grpc.RpcError as exc:
                    refused = exc
                    break
                acked.append(i)
            assert refused is not None, "the map never filled"
            assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert str(store) in refused.details() and "full" in refused.details()
            assert len(acked) > 100  # it grew from 1 MiB to the 2 MiB limit first

            # reads go on, and so do retries of what was acknowledged
            assert client.health() == "SERVING"
            card = client.card("full-c0")
            assert card.known and card.nps.score == 2
            board = client.dashboard(f"full-a{acked[-1]}")
            assert board.comments and board.comments[0].feedback_id == f"full-{acked[-1]}"
            stats = client.stats()
            assert stats.map_size == 2 << 20
            assert stats.feedback == len(acked) + 1
            assert client.feedback("full-0", "full-c0", "NPS", score=2).duplicate
            with pytest.raises(grpc.RpcError) as again:
                client.feedback("full-x", "full-cx", "CSAT", score=3, agent_id="full-ax",
                                text=comment)  # fmt: skip
            assert again.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        running.stop(grace=0.5)


def _wait_for(condition, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def open_live(server: Running) -> int:
    assert server.pools is not None
    return server.pools.open_streams()["live"]


@pytest.mark.parametrize("how", ["cancel", "close_channel"])
def test_client_dropping_a_stream_frees_it(server: Running, how: str) -> None:
    interactions = server.service.interactions
    iid = f"drop-{how}"
    release = threading.Event()

    def utterances() -> Iterator[voc_pb2.Utterance]:
        yield utterance_message(iid, "快递太慢了，我很生气", customer_id=f"drop-c-{how}")
        release.wait(30)  # the client goes quiet with its stream still open

    client = VocClient(f"127.0.0.1:{server.port}", timeout=10)
    try:
        call = client.stream(utterances(), timeout=30)
        first = next(call)
        assert first.interaction_id == iid
        # one count of open streams, the admission's, and the metrics gauge reads it
        assert open_live(server) == 1
        assert server.metrics.registry.get_sample_value("vocscore_interaction_streams") == 1
        assert interactions.live_emotion(iid) is not None
        if how == "cancel":
            call.cancel()
        else:
            client.close()
        assert _wait_for(lambda: open_live(server) == 0), "the stream is still counted open"
        assert server.metrics.registry.get_sample_value("vocscore_interaction_streams") == 0
        # the dropped stream ended its interaction: written to the profile, gone from memory
        assert _wait_for(lambda: interactions.live_emotion(iid) is None)

        def written() -> bool:
            profile = server.store.get("customers", f"drop-c-{how}".encode())
            return profile is not None and any(e.get("src") == iid for e in profile["events"])

        assert _wait_for(written), "the dropped interaction was not written to the profile"
    finally:
        release.set()
        client.close()
