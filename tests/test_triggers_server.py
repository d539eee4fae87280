"""One-click reports and triggers over gRPC: watchers, cards, bad input, CLI, and a real restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from clients import cli
from clients.client import VocClient
from clients.pb import voc_pb2
from server.workers import free_port

ROOT = Path(__file__).resolve().parent.parent


def now_ms() -> int:
    return int(time.time() * 1000)


class Watcher:
    """Collects a WatchTriggers stream on a thread until stopped."""

    def __init__(self, client: VocClient, **kw) -> None:
        self.call = client.watch(**kw)
        self.triggers: list[voc_pb2.Trigger] = []
        self.error: grpc.StatusCode | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for trigger in self.call:
                self.triggers.append(trigger)
        except grpc.RpcError as exc:
            self.error = exc.code()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[voc_pb2.Trigger]:
        end = time.monotonic() + timeout
        while len(self.triggers) < n and time.monotonic() < end:
            time.sleep(0.01)
        return list(self.triggers)

    def stop(self) -> None:
        self.call.cancel()
        self.thread.join(5)


def test_ten_agents_fire_exactly_one_p0_to_each_watcher(client: VocClient, server) -> None:
    start = now_ms()
    watchers = [Watcher(client, since_ms=start), Watcher(client, min_level="P0")]
    deadline = time.monotonic() + 5
    while server.service.triggers.hub.subscribers < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    fired = ""
    try:
        for i in range(12):
            tag = "支付失败 " if i % 3 else "支付失败"
            ack = client.report(f"pay-{i}", f"agent-{i % 11}", tag, customer_id=f"C{i}")
            assert ack.tag == "支付失败" and ack.threshold == 10 and ack.window_s == 300
            assert ack.distinct_agents == min(i + 1, 11)
            assert ack.HasField("trigger") == (i == 9)
            fired = ack.trigger.trigger_id if i == 9 else fired
            quiet = client.report(f"quiet-{i}", f"agent-{i % 9}", "退款太慢")
            assert not quiet.HasField("trigger") and quiet.distinct_agents == min(i + 1, 9)
        for w in watchers:
            got = w.wait_for(1)
            time.sleep(0.2)  # anything more would have arrived by now
            assert len(w.triggers) == 1, w.triggers
            t = got[0]
            assert (t.level, t.kind, t.key) == (voc_pb2.P0, voc_pb2.AGENT_REPORTS, "支付失败")
            assert t.owner == "tech-oncall" and t.count == 10 and t.state == voc_pb2.OPEN
            assert t.trigger_id == fired
            assert len(t.sample_agent_ids) == 10 and t.fired_ms >= start
    finally:
        for w in watchers:
            w.stop()
    listed = client.list_triggers(since_ms=start)
    assert [t.key for t in listed] == ["支付失败"]
    # a late watcher replays it from the store
    late = Watcher(client, since_ms=start)
    try:
        assert [t.trigger_id for t in late.wait_for(1)] == [listed[0].trigger_id]
    finally:
        late.stop()


def test_open_p0_is_an_active_incident_on_the_card(client: VocClient) -> None:
    client.upsert_profiles([{"customer_id": "pay-vip", "tier": "VIP", "name": "李雷"}])
    client.feedback("pay-vip-f1", "pay-vip", "COMPLAINT", text="支付失败了三次")
    card = client.card("pay-vip")
    open_p0 = [t for t in card.active_incidents if t.key == "支付失败"]
    assert len(open_p0) == 1 and open_p0[0].level == voc_pb2.P0
    assert any("支付失败" in a and "P0" in a for a in card.alerts)
    acked = client.ack_trigger(open_p0[0].trigger_id, "ops-lead")
    assert acked.state == voc_pb2.ACKED and acked.acked_by == "ops-lead"
    resolved = client.ack_trigger(open_p0[0].trigger_id, "ops-lead", resolve=True)
    assert resolved.state == voc_pb2.RESOLVED
    assert not [t for t in client.card("pay-vip").active_incidents if t.key == "支付失败"]
    assert [t.trigger_id for t in client.list_triggers(state="RESOLVED")] == [acked.trigger_id]


def test_duplicate_report_id_and_repeated_agent_count_once(client: VocClient) -> None:
    first = client.report("dup-1", "agent-1", "屏幕闪烁")
    again = client.report("dup-1", "agent-1", "屏幕闪烁")
    assert again.duplicate and not first.duplicate
    assert again.distinct_agents == first.distinct_agents == 1
    assert client.report("dup-2", "agent-1", "屏幕闪烁").distinct_agents == 1
    with pytest.raises(grpc.RpcError) as info:
        client.report("dup-1", "agent-2", "屏幕闪烁")
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"report_id": "", "agent_id": "A1", "tag": "t"}, "report_id"),
        ({"report_id": "bad-1", "agent_id": "", "tag": "t"}, "agent_id"),
        ({"report_id": "bad-2", "agent_id": "A1", "tag": "  "}, "tag"),
        ({"report_id": "bad-3", "agent_id": "A1", "tag": "长" * 65}, "tag"),
        ({"report_id": "bad-4", "agent_id": "A1", "tag": "t", "note": "n" * 501}, "note"),
    ],
)
def test_bad_report_is_invalid_argument_and_writes_nothing(
    client: VocClient, kwargs: dict, field: str
) -> None:
    before = client.stats()
    with pytest.raises(grpc.RpcError) as info:
        client.report(**kwargs)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(field)
    after = client.stats()
    assert (after.reports, after.triggers) == (before.reports, before.triggers)


def test_bad_trigger_requests(client: VocClient) -> None:
    def code(call) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.RpcError) as info:
            call()
        return info.value.code(), info.value.details()

    not_found = code(lambda: client.ack_trigger("T0000000000001-beef", "ops"))
    assert not_found[0] == grpc.StatusCode.NOT_FOUND and "trigger_id" in not_found[1]
    assert code(lambda: client.ack_trigger("", "ops"))[0] == grpc.StatusCode.INVALID_ARGUMENT
    bad_state = code(lambda: client.voc.ListTriggers(voc_pb2.ListTriggersRequest(state=42)))
    assert bad_state[0] == grpc.StatusCode.INVALID_ARGUMENT and bad_state[1].startswith("state")
    bad_level = code(lambda: list(client.voc.WatchTriggers(voc_pb2.WatchRequest(min_level=9))))
    assert bad_level[0] == grpc.StatusCode.INVALID_ARGUMENT and bad_level[1].startswith("min_level")


def test_cli_report_triggers_and_ack(server, capsys: pytest.CaptureFixture[str]) -> None:
    target = ["--target", f"127.0.0.1:{server.port}"]
    assert cli.main([*target, "report", "agent-x", "App 崩溃", "--id", "cli-r1"]) == 0
    assert "“app 崩溃” 1/10 distinct agents in 300 s" in capsys.readouterr().out
    assert cli.main([*target, "triggers", "--state", "RESOLVED"]) == 0
    out = capsys.readouterr().out
    assert "P0 AGENT_REPORTS  支付失败" in out and "-> tech-oncall  RESOLVED" in out
    trigger_id = out.split()[out.split().index("RESOLVED") + 3]
    assert cli.main([*target, "ack", trigger_id, "--by", "me"]) == 0
    assert "resolved by ops-lead" in capsys.readouterr().out
    assert cli.main([*target, "--json", "watch", "--since-ms", "1", "--count", "1"]) == 0
    assert '"key": "支付失败"' in capsys.readouterr().out


# -- a real server process, killed mid-window ----------------------------------------------


def _start(store: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    env["VOC_METRICS_LISTEN"] = "127.0.0.1:0"  # never the shared default port
    return subprocess.Popen(
        [sys.executable, "-m", "server", "--listen", f"127.0.0.1:{port}", "--store", str(store)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_sigkill_mid_window_loses_no_report_and_fires_once(tmp_path: Path) -> None:
    port, store = free_port(), tmp_path / "store"
    proc = _start(store, port)
    try:
        with VocClient(f"127.0.0.1:{port}", timeout=10) as c:
            c.wait_until_serving(30)
            acks = [c.report(f"k{i}", f"agent-{i}", "支付失败") for i in range(1, 7)]
            assert [a.distinct_agents for a in acks] == [1, 2, 3, 4, 5, 6]
        _kill(proc)
        proc = _start(store, port)
        with VocClient(f"127.0.0.1:{port}", timeout=10) as c:
            c.wait_until_serving(30)
            assert c.report("k6", "agent-6", "支付失败").duplicate  # acked before the kill
            acks = [c.report(f"k{i}", f"agent-{i}", "支付失败") for i in range(7, 11)]
            assert [a.distinct_agents for a in acks] == [7, 8, 9, 10]
            assert [a.HasField("trigger") for a in acks] == [False, False, False, True]
            fired = acks[-1].trigger.trigger_id
        _kill(proc)
        proc = _start(store, port)
        with VocClient(f"127.0.0.1:{port}", timeout=10) as c:
            c.wait_until_serving(30)
            eleventh = c.report("k11", "agent-11", "支付失败")
            assert eleventh.distinct_agents == 11 and not eleventh.HasField("trigger")
            assert [t.trigger_id for t in c.list_triggers()] == [fired]
    finally:
        if proc.poll() is None:
            _kill(proc)
