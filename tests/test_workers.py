"""--workers N: N processes on one port plus one trigger owner; windows stay exact across them."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import grpc
import pytest

from clients.client import VocClient
from clients.pb import voc_pb2
from server.errors import StartupError
from server.workers import Supervisor, _claim, children_of, free_port

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
# channels in one process share connections unless told not to; each agent needs its own
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


def test_two_workers_one_port_exact_p0_and_clean_shutdown(tmp_path: Path) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    env = {**os.environ, "VOC_METRICS_LISTEN": "127.0.0.1:0", "VOC_SERVER_GRACE_S": "2"}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "--workers",
            "2",
            "--listen",
            target,
            "--store",
            str(tmp_path / "store"),
            "--log-format",
            "text",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            with VocClient(target, timeout=10) as watcher:
                watcher.wait_until_serving(60)
                assert len(children_of(proc.pid)) == 3  # two workers and the owner
                pids: set[int] = set()
                deadline = time.monotonic() + 60  # the second worker may still be loading
                while len(pids) < 2 and time.monotonic() < deadline:
                    # the kernel spreads new connections over the workers that listen
                    with VocClient(target, timeout=10, channel_options=OWN_CONNECTION) as probe:
                        pids.add(probe.stats().pid)
                assert len(pids) == 2 and pids <= set(children_of(proc.pid))
                received: list[voc_pb2.Trigger] = []
                stream = watcher.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=30)

                def read_first() -> None:
                    for trigger in stream:
                        received.append(trigger)
                        return

                reader = threading.Thread(target=read_first)
                reader.start()
                counts, fired, seen = [], [], set()
                for i in range(10):
                    # a new channel per agent: connections spread over both workers
                    with VocClient(target, timeout=10, channel_options=OWN_CONNECTION) as agent:
                        agent.wait_until_serving(30)
                        ack = agent.report(f"w-{i}", f"agent-{i}", "支付失败 ")
                        counts.append(ack.distinct_agents)
                        seen.add(agent.stats().pid)
                        if ack.HasField("trigger"):
                            fired.append(ack.trigger.trigger_id)
                        agent.feedback(f"fb-{i}", f"cust-{i}", "COMPLAINT", text="付款一直失败")
                assert counts == list(range(1, 11))
                assert len(seen) == 2  # reports arrived through both workers
                assert len(fired) == 1
                reader.join(timeout=15)
                stream.cancel()
                assert [t.trigger_id for t in received] == fired
                assert watcher.card("cust-3").known
                listed = watcher.list_triggers()
                assert [t.trigger_id for t in listed if t.level == voc_pb2.P0] == fired
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, log = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
    assert proc.returncode == 0, log[-2000:]
    assert "all workers stopped" in log


def test_port_check_allows_a_restart_but_not_a_running_server() -> None:
    """A port whose last server just closed (TIME_WAIT) is free; one with a listener is not."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(StartupError, match="cannot listen"):
            _claim(f"127.0.0.1:{port}")
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end lingers in TIME_WAIT
        time.sleep(0.1)
        client.close()
    assert _claim(f"127.0.0.1:{port}") == f"127.0.0.1:{port}"


class ServerProcess:
    """`python -m server --workers 2` as a subprocess, its stderr collected by a thread."""

    def __init__(self, target: str, store: Path) -> None:
        env = {**os.environ, "VOC_METRICS_LISTEN": "127.0.0.1:0", "VOC_SERVER_GRACE_S": "1"}
        argv = [sys.executable, "-m", "server", "--workers", "2", "--listen", target]
        self.proc = subprocess.Popen(
            [*argv, "--store", str(store), "--log-format", "text"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, deadline_s: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in the log:\n{self.log[-3000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.reader.join(timeout=5)
        if not self.reader.is_alive() and self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


def until(what: Callable[[], T], deadline_s: float = 20) -> T:
    """What `what()` returns, retried while it raises a gRPC error (a child is restarting)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return what()
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_dead_workers_and_owner_come_back_and_the_port_is_free_at_once(tmp_path: Path) -> None:
    target = f"127.0.0.1:{free_port()}"
    server = ServerProcess(target, tmp_path / "store")
    try:
        with VocClient(target, timeout=10) as client:
            client.wait_until_serving(60)
            workers: set[int] = set()
            deadline = time.monotonic() + 30
            while len(workers) < 2 and time.monotonic() < deadline:
                with VocClient(target, timeout=10, channel_options=OWN_CONNECTION) as probe:
                    workers.add(probe.stats().pid)
            (owner,) = set(children_of(server.proc.pid)) - workers
            for i in range(5):  # half a P0 before the owner dies
                assert client.report(f"r-{i}", f"agent-{i}", "支付失败").distinct_agents == i + 1
            # kill -9 one worker: the other serves at once, a new one takes its place
            worker = client.stats().pid
            os.kill(worker, signal.SIGKILL)
            with VocClient(target, timeout=5, channel_options=OWN_CONNECTION) as fresh:
                assert until(fresh.health) == "SERVING"
                assert until(lambda: fresh.score("i-1", "快递太慢了", customer_id="c-1")).topics
            server.wait_for(rf"worker-\d \(pid {worker}\) was killed by SIGKILL; restarting it")
            server.wait_for(r"worker-\d restarted \(pid \d+\)")
            deadline = time.monotonic() + 20
            while len(children_of(server.proc.pid)) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(children_of(server.proc.pid)) == 3 and worker not in children_of(
                server.proc.pid
            )
            # kill -9 the owner: it comes back with its windows rebuilt from the journal
            os.kill(owner, signal.SIGKILL)
            server.wait_for(rf"owner \(pid {owner}\) was killed by SIGKILL; restarting it")
            server.wait_for(r"owner restarted \(pid \d+\)")
            counts = [
                until(lambda i=i: client.report(f"r-{i}", f"agent-{i}", "支付失败"))
                for i in range(5, 10)
            ]
            assert [a.distinct_agents for a in counts] == [6, 7, 8, 9, 10]
            assert counts[-1].HasField("trigger") and counts[-1].trigger.level == voc_pb2.P0
            assert client.health() == "SERVING"
        # stop with a client connected (the server closes first: TIME_WAIT on the port) ...
        with VocClient(target, timeout=5) as connected:
            assert connected.health() == "SERVING"
            assert server.stop() == 0, server.log[-3000:]
        # ... and start again on the same port at once
        again = ServerProcess(target, tmp_path / "store")
        try:
            with VocClient(target, timeout=10) as client:
                try:
                    client.wait_until_serving(120)  # a loaded CI machine loads lexicons slowly
                except TimeoutError as exc:
                    raise AssertionError(f"{exc}\n{again.log[-3000:]}") from None
                assert client.list_triggers()[0].key == "支付失败"
        finally:
            assert again.stop() == 0, again.log[-3000:]
        assert "address already in use" not in again.log.lower()
    finally:
        server.stop()


def _exit_with(code: int) -> Callable[[], int]:
    return lambda: code


def _serve_until_sigterm() -> None:
    """A stand-in child that stops cleanly on SIGTERM, as a server process does."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    time.sleep(60)
    os._exit(2)


def test_supervisor_backs_off_and_gives_up_on_a_child_that_keeps_dying(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="server.workers")
    supervisor = Supervisor(
        {"broken": _exit_with(3)}, restart_delay_s=0.01, max_delay_s=0.04, max_young_deaths=4
    )
    supervisor.start_all()
    assert supervisor.run(grace_s=0) == 1
    delays = [r.restart_in_s for r in caplog.records if hasattr(r, "restart_in_s")]
    assert delays == [0.01, 0.02, 0.04, 0.04]
    assert "exited with status 3, the 5-th time in a row" in caplog.text
    assert supervisor.children == {}


def test_supervisor_restarts_a_killed_child_and_stops_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="server.workers")
    supervisor = Supervisor(
        {"owner": _serve_until_sigterm, "worker-0": _serve_until_sigterm}, restart_delay_s=0.05
    )
    supervisor.start_all()
    first = supervisor.pid_of("worker-0")
    restarted: list[int] = []

    def kill_then_stop() -> None:
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid = supervisor.pid_of("worker-0")
            if pid not in (0, first):
                restarted.append(pid)
                break
            time.sleep(0.02)
        supervisor.stopping.set()

    threading.Thread(target=kill_then_stop).start()
    assert supervisor.run(grace_s=1) == 0
    assert restarted and restarted[0] != first
    assert f"worker-0 (pid {first}) was killed by SIGKILL; restarting it in 0.05 s" in caplog.text
    assert f"worker-0 restarted (pid {restarted[0]})" in caplog.text
    assert supervisor.children == {}
