"""Trigger delivery to owners, against real HTTP receivers on loopback: retries, timeouts, a
receiver that is down then up, a bad secret, robot formats, and kill -9 mid-delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from clients.client import VocClient
from clients.pb import voc_pb2
from server.app import Running, build_server
from server.config import ConfigError
from server.delivery import DeliveryParams, Route, build_request, message_text, sign
from server.engine import Engine
from server.workers import free_port
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
SECRET = "receiver-shared-secret"
FAST = {"poll_s": 0.05, "backoff_s": 0.05, "max_backoff_s": 0.2, "timeout_s": 0.5}


class Receiver:
    """A real HTTP server on loopback; `answers` decides each reply: (status, body) or a delay."""

    def __init__(self, port: int = 0, answers: Callable[[int], tuple[int, str]] | None = None):
        self.requests: list[dict] = []
        self.answers = answers or (lambda n: (200, '{"errcode": 0, "errmsg": "ok"}'))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                n = len(receiver.requests)
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, text = receiver.answers(n)
                payload = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.http.server_address[1]
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """Lexicons loaded once for the module's servers."""
    return Engine(make_config(tmp_path_factory.mktemp("engine")))


def serve(engine: Engine, tmp_path: Path, routes: list[dict], **delivery) -> Running:
    section = {**FAST, **delivery, "routes": routes}
    return build_server(make_config(tmp_path / "store", delivery=section), engine=engine)


def fire_p0(running: Running, tag: str = "支付失败", note: str = "") -> str:
    with VocClient(f"127.0.0.1:{running.port}", timeout=10) as c:
        acks = [
            c.report(f"{tag}-{i}", f"agent-{i}", tag, note=note or f"客户{i}说付款一直失败")
            for i in range(10)
        ]
    assert acks[-1].HasField("trigger")
    return acks[-1].trigger.trigger_id


def deliveries(running: Running, trigger_id: str) -> list[voc_pb2.Delivery]:
    with VocClient(f"127.0.0.1:{running.port}", timeout=10) as c:
        (trigger,) = [t for t in c.list_triggers() if t.trigger_id == trigger_id]
    return list(trigger.deliveries)


def state_of(running: Running, trigger_id: str) -> str:
    found = deliveries(running, trigger_id)
    return found[0].state if found else ""


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_signed_webhook_reaches_the_owner_with_masked_snippets(engine, tmp_path, receiver) -> None:
    other = Receiver()
    routes = [
        {"owner": "tech-oncall", "type": "webhook", "url": receiver.url(), "secret": SECRET},
        {"owner": "logistics-ops", "type": "webhook", "url": other.url()},
    ]
    running = serve(engine, tmp_path, routes, board_url="http://board.example/board")
    try:
        fired = fire_p0(running, note="客户13812345678说支付一直失败")
        wait_until(lambda: len(receiver.requests) == 1)
        request = receiver.requests[0]
        assert request["headers"]["X-Voc-Signature-256"] == sign(SECRET, request["body"])
        assert request["headers"]["X-Voc-Delivery"] == fired
        payload = json.loads(request["body"])
        assert payload["trigger"]["id"] == fired and payload["trigger"]["owner"] == "tech-oncall"
        text = payload["text"]
        assert "【P0】10 名坐席在 5 分钟内上报“支付失败”" in text
        assert "13812345678" not in text and "[phone]" in text  # a masked example snippet
        assert "http://board.example/board" in text
        wait_until(lambda: state_of(running, fired) == "DELIVERED")
        (state,) = deliveries(running, fired)
        assert (state.owner, state.type, state.attempts) == ("tech-oncall", "webhook", 1)
        time.sleep(0.3)
        assert other.requests == []  # another owner's route gets nothing
    finally:
        running.stop(grace=0.2)
        other.close()


def test_a_failing_receiver_is_retried_until_it_accepts(engine, tmp_path) -> None:
    receiver = Receiver(answers=lambda n: (500, "busy") if n < 3 else (200, "ok"))
    running = serve(engine, tmp_path, [{"owner": "*", "type": "slack", "url": receiver.url()}])
    try:
        fired = fire_p0(running)
        wait_until(lambda: state_of(running, fired) == "DELIVERED")
        (state,) = deliveries(running, fired)
        assert state.attempts == 4 and state.last_error == ""
        assert len(receiver.requests) == 4
        assert {b["text"].splitlines()[0] for b in receiver.bodies()} == {
            "【P0】10 名坐席在 5 分钟内上报“支付失败”"
        }
    finally:
        running.stop(grace=0.2)
        receiver.close()


def test_retrying_state_and_last_error_are_shown_then_a_late_receiver_gets_it(
    engine, tmp_path
) -> None:
    port = free_port()  # nothing listens here yet
    url = f"http://127.0.0.1:{port}/hook"
    running = serve(
        engine, tmp_path, [{"owner": "*", "type": "webhook", "url": url}], backoff_s=0.2
    )
    receiver = None
    try:
        fired = fire_p0(running)
        wait_until(lambda: state_of(running, fired) == "RETRYING")
        (state,) = deliveries(running, fired)
        assert state.state == "RETRYING" and "Connect" in state.last_error and state.next_ms
        receiver = Receiver(port=port)
        wait_until(lambda: state_of(running, fired) == "DELIVERED")
        assert [b["trigger"]["id"] for b in receiver.bodies()] == [fired]
    finally:
        running.stop(grace=0.2)
        if receiver is not None:
            receiver.close()


def test_a_slow_receiver_times_out_and_is_retried(engine, tmp_path) -> None:
    def answers(n: int) -> tuple[int, str]:
        if n == 0:
            time.sleep(1.5)  # past the 0.5 s timeout
        return 200, "ok"

    receiver = Receiver(answers=answers)
    running = serve(engine, tmp_path, [{"owner": "*", "type": "webhook", "url": receiver.url()}])
    try:
        fired = fire_p0(running)
        wait_until(lambda: state_of(running, fired) == "DELIVERED")
        (state,) = deliveries(running, fired)
        assert state.attempts == 2
        ids = {b["trigger"]["id"] for b in receiver.bodies()}
        assert ids == {fired}  # the duplicate, if the slow one got through, has the same id
    finally:
        running.stop(grace=0.2)
        receiver.close()


def test_a_receiver_that_refuses_the_signature_marks_the_delivery_failed(engine, tmp_path) -> None:
    def answers(n: int) -> tuple[int, str]:
        request = receiver.requests[n]
        good = sign(SECRET, request["body"])
        ok = hmac.compare_digest(request["headers"].get("X-Voc-Signature-256", ""), good)
        return (200, "ok") if ok else (401, "bad signature")

    receiver = Receiver(answers=answers)
    route = {"owner": "*", "type": "webhook", "url": receiver.url(), "secret": "wrong-secret"}
    running = serve(engine, tmp_path, [route])
    try:
        fired = fire_p0(running)
        wait_until(lambda: state_of(running, fired) == "FAILED")
        (state,) = deliveries(running, fired)
        assert state.attempts == 1 and "HTTP 401" in state.last_error  # not retried forever
    finally:
        running.stop(grace=0.2)
        receiver.close()


def test_robot_formats_and_their_signatures() -> None:
    trigger = {
        "id": "T0000000000001-abcd",
        "level": "P0",
        "kind": "AGENT_REPORTS",
        "key": "支付失败",
        "count": 10,
        "window_s": 300,
        "owner": "tech-oncall",
        "message": "10 agents reported",
    }
    now = 1_700_000_000_000
    en = Route("tech-oncall", "slack", "https://hooks.example/x", locale="en")
    text = message_text(trigger, ["card declined twice"], en, "")
    assert text.splitlines()[0] == "[P0] 10 agents reported “支付失败” within 5 min"
    url, _, body = build_request(
        Route("o", "dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", "SEC"),
        trigger,
        "hi",
        now,
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    expected = base64.b64encode(
        hmac.new(b"SEC", f"{now}\nSEC".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["timestamp"] == [str(now)] and query["sign"] == [expected]
    assert query["access_token"] == ["t"]
    assert json.loads(body) == {"msgtype": "text", "text": {"content": "hi"}}
    _, _, body = build_request(
        Route("o", "feishu", "https://open.feishu.cn/x", "SEC"), trigger, "hi", now
    )
    feishu = json.loads(body)
    key = f"{now // 1000}\nSEC".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu["content"] == {"text": "hi"} and feishu["msg_type"] == "text"
    _, _, body = build_request(
        Route("o", "wecom", "https://qyapi.weixin.qq.com/x"), trigger, "hi", now
    )
    assert json.loads(body) == {"msgtype": "text", "text": {"content": "hi"}}


def test_a_robot_error_code_in_a_200_reply_is_retried(engine, tmp_path) -> None:
    receiver = Receiver(
        answers=lambda n: (
            (200, '{"errcode": 45009, "errmsg": "api freq out of limit"}')
            if n == 0
            else (200, '{"errcode": 0, "errmsg": "ok"}')
        )
    )
    running = serve(engine, tmp_path, [{"owner": "*", "type": "wecom", "url": receiver.url()}])
    try:
        fired = fire_p0(running)
        wait_until(lambda: state_of(running, fired) == "DELIVERED")
        assert deliveries(running, fired)[0].attempts == 2
    finally:
        running.stop(grace=0.2)
        receiver.close()


def test_an_overdue_trigger_is_escalated_to_the_next_owner(engine, tmp_path, receiver) -> None:
    cto = Receiver()
    routes = [
        {"owner": "tech-oncall", "type": "webhook", "url": receiver.url()},
        {"owner": "cto-office", "type": "webhook", "url": cto.url(), "locale": "en"},
    ]
    cfg = make_config(
        tmp_path / "store",
        delivery={**FAST, "escalate_every_s": 0.1, "routes": routes},
        sla={"respond_p0_s": 1, "escalate_to": {"tech-oncall": "cto-office"}},
    )
    running = build_server(cfg, engine=engine)
    try:
        fired = fire_p0(running)
        wait_until(lambda: len(receiver.requests) == 2 and len(cto.requests) == 1)
        first, reminder = receiver.bodies()
        assert not first["text"].startswith("【超时") and reminder["text"].startswith(
            "【超时未响应"
        )
        (escalated,) = cto.bodies()
        assert escalated["text"].startswith("[OVERDUE, escalated] [P0]")
        assert escalated["trigger"]["id"] == fired
        wait_until(lambda: sum(d.state == "DELIVERED" for d in deliveries(running, fired)) == 3)
        assert sorted(d.escalation for d in deliveries(running, fired)) == [False, True, True]
        time.sleep(0.5)
        assert len(receiver.requests) == 2 and len(cto.requests) == 1  # once each
    finally:
        running.stop(grace=0.2)
        cto.close()


def test_an_acknowledged_trigger_is_not_escalated(engine, tmp_path, receiver) -> None:
    cfg = make_config(
        tmp_path / "store",
        delivery={
            **FAST,
            "escalate_every_s": 0.1,
            "routes": [{"owner": "*", "type": "webhook", "url": receiver.url()}],
        },
        sla={"respond_p0_s": 1},
    )
    running = build_server(cfg, engine=engine)
    try:
        fired = fire_p0(running)
        with VocClient(f"127.0.0.1:{running.port}") as c:
            c.voc.AckTrigger(voc_pb2.AckTriggerRequest(trigger_id=fired, by="lead"), timeout=5)
        time.sleep(1.6)
        assert len(receiver.requests) == 1
    finally:
        running.stop(grace=0.2)


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ({"owner": "x", "type": "pager", "url": "http://h/x"}, "type"),
        ({"owner": "x", "type": "slack", "url": "ftp://h/x"}, "url"),
        ({"owner": "", "type": "slack", "url": "http://h/x"}, "owner"),
        ({"owner": "x", "type": "slack", "url": "http://h/x", "colour": 1}, "colour"),
    ],
)
def test_bad_routes_are_config_errors(route, field) -> None:
    with pytest.raises(ConfigError, match=field):
        DeliveryParams.from_section({"routes": [route]})


# -- kill -9 of the server mid-delivery -----------------------------------------------------


def test_kill_9_mid_delivery_delivers_after_restart(tmp_path: Path) -> None:
    hold = threading.Event()

    def answers(n: int) -> tuple[int, str]:
        if n == 0:
            hold.wait(20)  # the server dies while this post is in flight
            return 200, "too late"
        return 200, "ok"

    receiver = Receiver(answers=answers)
    config = tmp_path / "voc.toml"
    config.write_text(
        "[delivery]\npoll_s = 0.05\nbackoff_s = 0.05\ntimeout_s = 10.0\n"
        f'[[delivery.routes]]\nowner = "*"\ntype = "webhook"\nurl = "{receiver.url()}"\n',
        encoding="utf-8",
    )
    port, store = free_port(), tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env |= {"NUMBA_CACHE_DIR": str(ROOT / ".numba_cache"), "VOC_METRICS_LISTEN": "127.0.0.1:0"}
    argv = [sys.executable, "-m", "server", "--config", str(config)]
    argv += ["--listen", f"127.0.0.1:{port}", "--store", str(store), "--workers", "1"]

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    proc = start()
    try:
        with VocClient(f"127.0.0.1:{port}", timeout=10) as c:
            c.wait_until_serving(30)
            acks = [c.report(f"r{i}", f"agent-{i}", "支付失败") for i in range(10)]
            fired = acks[-1].trigger.trigger_id
        wait_until(lambda: len(receiver.requests) == 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        hold.set()
        proc = start()
        with VocClient(f"127.0.0.1:{port}", timeout=10) as c:
            c.wait_until_serving(30)

            def delivered() -> bool:
                (t,) = c.list_triggers()
                return t.deliveries[0].state == "DELIVERED"

            wait_until(delivered, 20)
        ids = [json.loads(r["body"])["trigger"]["id"] for r in receiver.requests]
        assert ids == [fired, fired]  # delivered again after the restart, under the same id
    finally:
        hold.set()
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        receiver.close()
