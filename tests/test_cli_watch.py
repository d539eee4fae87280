"""`vocscore watch` as a supervised process: a non-zero exit when the stream ends, `--follow`
across a server restart (each trigger printed once), `--since 10m`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clients import cli
from clients.client import VocClient
from server.app import build_server
from server.workers import free_port
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent


def fire_p0(port: int, tag: str) -> str:
    with VocClient(f"127.0.0.1:{port}", timeout=10) as c:
        acks = [c.report(f"{tag}-{i}", f"agent-{i}", tag) for i in range(10)]
    assert acks[-1].HasField("trigger")
    return acks[-1].trigger.trigger_id


def serve(store: Path, port: int):
    cfg = make_config(store, server={"listen": f"127.0.0.1:{port}", "log_format": "text"})
    return build_server(cfg)


def test_durations() -> None:
    assert cli.parse_duration("10m") == 600_000
    assert cli.parse_duration("2h") == 7_200_000 and cli.parse_duration("1d") == 86_400_000
    assert cli.parse_duration("90") == 90_000 and cli.parse_duration("1.5s") == 1_500
    for bad in ("ten minutes", "-5m", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_duration(bad)


def test_watch_exits_non_zero_when_the_server_goes_away(tmp_path: Path, capsys) -> None:
    port = free_port()
    running = serve(tmp_path / "store", port)
    codes: list[int] = []
    watcher = threading.Thread(
        target=lambda: codes.append(cli.main(["--target", f"127.0.0.1:{port}", "watch"]))
    )
    try:
        watcher.start()
        deadline = time.monotonic() + 10
        while running.service.triggers.hub.subscribers < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        running.stop(grace=0.2)
    watcher.join(15)
    assert codes == [1]
    assert "--follow" in capsys.readouterr().err


def test_follow_reconnects_and_prints_each_trigger_once(tmp_path: Path) -> None:
    port, store = free_port(), tmp_path / "store"
    running = serve(store, port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env["NUMBA_CACHE_DIR"] = str(ROOT / ".numba_cache")
    watch = subprocess.Popen(
        [sys.executable, "-m", "clients.cli", "--target", f"127.0.0.1:{port}", "--json"]
        + ["watch", "--follow", "--since", "10m"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = fire_p0(
            port, "支付失败"
        )  # before or after the watcher connects: --since replays it
        line = json.loads(watch.stdout.readline())
        assert line["trigger_id"] == first
        running.stop(grace=0.2)
        running = serve(store, port)  # the same store, the same port: a restart
        second = fire_p0(port, "退款失败")
        line = json.loads(watch.stdout.readline())
        assert line["trigger_id"] == second  # the first one is not printed again
        assert watch.poll() is None  # still following
    finally:
        running.stop(grace=0.2)
        watch.kill()
        _, err = watch.communicate(timeout=10)
    assert "reconnecting" in err
