"""The Connect JSON gateway: every unary RPC over HTTP with the same tokens and error codes,
server streaming in envelopes, an OpenAPI document, and the README's curl examples."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.app import Running, build_server
from server.auth import hash_token
from server.config import ConfigError
from server.demo import seed_demo
from server.gateway import GatewayParams
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
CTI = "test-gateway-cti-secret-0123456789"
OPS = "test-gateway-ops-secret-0123456789"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tokens = [
        {"name": "desk", "sha256": hash_token(CTI), "roles": ["cti", "survey"]},
        {"name": "ops", "sha256": hash_token(OPS), "roles": ["ops", "agent"]},
    ]
    cfg = make_config(
        tmp_path_factory.mktemp("store"),
        gateway={"listen": "127.0.0.1:0"},
        auth={"tokens": tokens},
    )
    seed_demo(cfg, customers=20)
    running = build_server(cfg)
    try:
        yield running
    finally:
        running.stop(grace=0.2)


def http(running: Running, token: str = CTI) -> httpx.Client:
    assert running.gateway is not None
    return httpx.Client(
        base_url=f"http://127.0.0.1:{running.gateway.port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_unary_calls_in_json(gateway) -> None:
    with http(gateway) as client:
        card = client.post("/voc.v1.Voc/GetSummaryCard", json={"customerId": "C0001"})
        assert card.status_code == 200 and card.json()["customerId"] == "C0001"
        score = client.post(
            "/voc.v1.Voc/ScoreUtterance",
            json={"interaction_id": "gw-1", "customer_id": "C0002", "speaker": "CUSTOMER",
                  "text": "退款申请了十天还没到账"},
        )  # fmt: skip
        assert score.status_code == 200
        assert "refund.delay" in [t["topic"] for t in score.json()["topics"]]
        ended = client.post("/voc.v1.Voc/EndInteraction", json={"interactionId": "gw-1"}).json()
        assert ended["utterances"] == 1


def test_errors_keep_their_codes(gateway) -> None:
    with http(gateway) as client:
        bad = client.post("/voc.v1.Voc/GetSummaryCard", json={"customerId": ""})
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid_argument" and "customer_id" in bad.json()["message"]
        typo = client.post("/voc.v1.Voc/GetSummaryCard", json={"customer": "C1"})
        assert typo.status_code == 400 and "customer" in typo.json()["message"]
        wrong_role = client.post("/voc.v1.Voc/ListTriggers", json={})
        assert wrong_role.status_code == 403 and wrong_role.json()["code"] == "permission_denied"
        missing = client.post("/voc.v1.Voc/NoSuchMethod", json={})
        assert missing.status_code == 501
        streaming = client.post("/voc.v1.Voc/StreamInteraction", json={})
        assert streaming.status_code == 501 and "ScoreUtterance" in streaming.json()["message"]
        text = client.post(
            "/voc.v1.Voc/GetSummaryCard", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        assert text.status_code == 415
    with httpx.Client(base_url=f"http://127.0.0.1:{gateway.gateway.port}") as anon:
        reply = anon.post("/voc.v1.Voc/GetSummaryCard", json={"customerId": "C0001"})
        assert reply.status_code == 401 and reply.json()["code"] == "unauthenticated"


def test_watch_triggers_streams_connect_envelopes(gateway) -> None:
    with http(gateway, OPS) as client:
        for i in range(10):
            client.post(
                "/voc.v1.Voc/ReportIssue",
                json={"reportId": f"gw-r{i}", "agentId": f"A{i:03d}", "tag": "扣款异常"},
            ).raise_for_status()
        body = json.dumps({"sinceMs": "1"}).encode()
        reply = client.post(
            "/voc.v1.Voc/WatchTriggers",
            content=struct.pack(">BI", 0, len(body)) + body,
            headers={"Content-Type": "application/connect+json", "Connect-Timeout-Ms": "1500"},
        )
    data, messages = reply.content, []
    while data:
        flags, size = struct.unpack(">BI", data[:5])
        messages.append((flags, json.loads(data[5 : 5 + size])))
        data = data[5 + size :]
    assert any(m.get("key") == "扣款异常" for flags, m in messages if flags == 0)
    flags, end = messages[-1]
    assert flags == 2 and end["error"]["code"] == "deadline_exceeded"  # the caller's timeout


def test_openapi_describes_every_unary_method(gateway) -> None:
    with http(gateway) as client:
        doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/voc.v1.Voc/GetSummaryCard" in doc["paths"] and "/voc.v1.Admin/GetStats" in doc["paths"]
    assert "/voc.v1.Voc/StreamInteraction" not in doc["paths"]
    card = doc["components"]["schemas"]["voc.v1.CardRequest"]["properties"]
    assert card["customerId"] == {"type": "string"}


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        GatewayParams.from_section({"timeout_s": 0})


def test_the_readme_curl_examples_run(gateway) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [ln for ln in readme.splitlines() if ln.startswith("curl ") and ":8081/" in ln]
    assert len(commands) >= 5
    port = gateway.gateway.port
    for line in commands:
        argv = shlex.split(re.sub(r"127\.0\.0\.1:8081", f"127.0.0.1:{port}", line))
        argv[1:1] = ["-H", f"Authorization: Bearer {CTI if 'ListTriggers' not in line else OPS}"]
        argv[1:1] = ["-w", "\n%{http_code}"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        body, _, status = out.rpartition("\n")
        assert status == "200", (line, body)
        json.loads(body)
