"""--workers N: N processes on one port plus one trigger owner; windows stay exact across them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from clients.client import VocClient
from clients.pb import voc_pb2
from server.workers import children_of, free_port

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
