"""The Node.js example client (clients/node, @grpc/grpc-js from the npm registry) against a live
server; skipped with a message where node or npm is not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "clients" / "node"


@pytest.fixture(scope="module")
def node_client() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the Node.js example client is not run")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci failed (no registry?): {done.stderr.strip()[-300:]}")
    return NODE_DIR


def test_node_client_scores_and_records(node_client: Path, server, client) -> None:
    client.feedback("node-seed", "node-c1", "CSAT", score=3, agent_id="A001", channel="SURVEY")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    done = subprocess.run(
        ["node", "example.js", f"127.0.0.1:{server.port}", "node-c1"],
        cwd=node_client,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    by_call = {line["call"]: line for line in lines}
    assert by_call["GetSummaryCard"]["customer_id"] == "node-c1"
    score = by_call["ScoreUtterance"]
    assert score["valence"] < 0 and "payment.double_charge" in score["topics"]
    assert score["emotion"] not in ("HAPPY", "SATISFIED", "CALM")
    assert by_call["EndInteraction"]["utterances"] == 1
    assert by_call["RecordFeedback"]["duplicate"] is False
    card = client.card("node-c1")
    assert "payment.double_charge" in [t.topic for t in card.topics]


def test_node_client_reports_errors(node_client: Path, server) -> None:
    done = subprocess.run(
        ["node", "example.js", f"127.0.0.1:{server.port}", "x" * 600],  # an id too long
        cwd=node_client,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "INVALID_ARGUMENT" in done.stderr
