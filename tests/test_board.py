"""The ops board: its HTTP API with tokens, and the page in a real headless Chromium (a P0 fired
over gRPC appears without a reload, Ack changes its state)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from clients.client import VocClient
from server.app import Running, build_server
from server.auth import hash_token
from server.board import BoardParams
from server.config import ConfigError
from tests.conftest import make_config

OPS = "test-board-ops-secret-0123456789"
CTI = "test-board-cti-secret-0123456789"
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tokens = [
        {"name": "ops", "sha256": hash_token(OPS), "roles": ["ops", "agent"]},
        {"name": "cti", "sha256": hash_token(CTI), "roles": ["cti"]},
    ]
    cfg = make_config(
        tmp_path_factory.mktemp("store"),
        board={"listen": "127.0.0.1:0"},
        auth={"tokens": tokens},
    )
    running = build_server(cfg)
    try:
        yield running
    finally:
        running.stop(grace=0.2)


def base(running: Running) -> str:
    assert running.board is not None
    return f"http://127.0.0.1:{running.board.port}"


def fire_p0(running: Running, tag: str) -> str:
    with VocClient(f"127.0.0.1:{running.port}", token=OPS, timeout=10) as c:
        acks = [c.report(f"{tag}-{i}", f"agent-{i}", tag) for i in range(10)]
    assert acks[-1].HasField("trigger")
    return acks[-1].trigger.trigger_id


@contextmanager
def logged_in(running: Running, token: str = OPS) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base(running), timeout=10) as client:
        reply = client.post("/login", content=f"token={token}", headers=_form())
        assert reply.status_code == 303, reply.text
        yield client


def _form() -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded"}


def test_the_board_asks_for_an_ops_token(board) -> None:
    with httpx.Client(base_url=base(board), timeout=10) as anon:
        assert anon.get("/").status_code == 303  # to the login form
        assert anon.get("/api/state").status_code == 401
        refused = anon.post("/login", content=f"token={CTI}", headers=_form())
        assert refused.status_code == 401 and "ops" in refused.text  # a cti token is not enough
        assert anon.post("/api/triggers/x/ack", json={}).status_code == 401
    with logged_in(board) as client:
        cookie = client.cookies.jar
        (entry,) = [c for c in cookie if c.name == "voc_board"]
        assert entry.has_nonstandard_attr("HttpOnly")
        page = client.get("/")
        assert page.status_code == 200 and "EventSource" in page.text


def test_state_ack_and_resolve_over_the_json_api(board) -> None:
    fired = fire_p0(board, "退款失败")
    with logged_in(board) as client:
        state = client.get("/api/state").json()
        (row,) = [t for t in state["triggers"] if t["id"] == fired]
        assert row["level"] == "P0" and row["state"] == "OPEN" and row["count"] == 10
        assert row["respond_by_ms"] == row["fired_ms"] + 7200 * 1000 and not row["overdue"]
        assert any(k["triggers"] >= 1 for k in state["kpis"])
        assert "<svg" in state["trend_svg"] and 'class="p0"' in state["trend_svg"]
        wrong_type = client.post(f"/api/triggers/{fired}/ack", content=b"{}")
        assert wrong_type.status_code == 415  # a cross-site form post cannot act
        assert client.post("/api/triggers/nope/ack", json={"by": "x"}).status_code == 404
        acked = client.post(f"/api/triggers/{fired}/ack", json={"by": "lead-1"}).json()
        assert acked["state"] == "ACKED"
        kpi = {k["group"]: k for k in client.get("/api/state").json()["kpis"]}[row["owner"]]
        assert kpi["on_time_response"] > 0
        client.post(f"/api/triggers/{fired}/resolve", json={"by": "lead-1"})
        after = client.get("/api/state").json()
        assert fired not in [t["id"] for t in after["triggers"]]  # resolved leaves the board


def test_topic_trends_per_hour(board) -> None:
    with VocClient(f"127.0.0.1:{board.port}", token=CTI, timeout=10) as c:
        for i in range(3):
            c.score(f"trend-{i}", "退款申请了十天还没到账", customer_id=f"trend-c{i}")
    with logged_in(board) as client:
        topics = {t["topic"]: t for t in client.get("/api/state").json()["topics"]}
    assert topics["refund.delay"]["total"] >= 3 and "<svg" in topics["refund.delay"]["svg"]


def test_the_event_stream_pushes_a_new_trigger(board) -> None:
    with logged_in(board) as client, client.stream("GET", "/api/events") as events:
        lines = events.iter_lines()
        first = _next_state(lines)
        fired = fire_p0(board, "登录不了")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = _next_state(lines)
            if fired in [t["id"] for t in state["triggers"]]:
                break
        else:
            raise AssertionError("the new trigger was not pushed")
        assert fired not in [t["id"] for t in first["triggers"]]


def _next_state(lines: Iterator[str]) -> dict:
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[len("data: ") :])
    raise AssertionError("the event stream ended")


def test_board_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="respond_p0_s"):
        BoardParams.from_section({"respond_p0_s": 0})
    with pytest.raises(ConfigError, match="colour"):
        BoardParams.from_section({"colour": "red"})


# -- in a real browser ------------------------------------------------------------------------


def chromium() -> str:
    found = os.environ.get("VOC_CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        pytest.skip(
            "no Chromium: `apt-get install chromium` (Debian) or set VOC_CHROMIUM; "
            ".ci/run installs it in CI"
        )
    return found


def test_in_chromium_a_p0_appears_live_and_ack_changes_it(board) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base(board) + "/")
            page.fill("input[name=token]", OPS)
            page.click("button[type=submit]")
            page.wait_for_selector("#live:text('live')", timeout=15_000)
            fired = fire_p0(board, "支付失败")  # through gRPC, no reload of the page
            row = page.locator(f"tr[data-id='{fired}']")
            row.wait_for(timeout=15_000)
            assert "支付失败" in row.inner_text() and "OPEN" in row.inner_text()
            assert "left" in row.locator("td.due").inner_text()  # the SLA timer runs
            row.locator("button[data-act=ack]").click()
            page.wait_for_selector(f"tr[data-id='{fired}'] td.state-ACKED", timeout=15_000)
            if os.environ.get("VOC_BOARD_SCREENSHOT"):
                page.screenshot(path=os.environ["VOC_BOARD_SCREENSHOT"], full_page=True)
        finally:
            browser.close()
