"""Start-up and shutdown: clear errors that name the problem; SIGTERM drains with NOT_SERVING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from clients.client import VocClient
from server.app import main
from server.workers import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_bad_config_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "voc.toml"
    bad.write_text('[server]\nlisten = "no-port"\n')
    assert main(["--config", str(bad)]) == 2
    assert "ConfigError" in capsys.readouterr().err


def test_port_in_use_is_named(tmp_path: Path, capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert (
            main(
                ["--listen", f"127.0.0.1:{port}", "--store", str(tmp_path / "s"), "--workers", "1"]
            )
            == 1
        )
    err = capsys.readouterr().err
    assert "StartupError" in err and f"127.0.0.1:{port}" in err


def test_unwritable_store_is_named(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert (
        main(["--listen", "127.0.0.1:0", "--store", str(blocker / "store"), "--workers", "1"]) == 1
    )
    assert "cannot open store" in capsys.readouterr().err


def test_sigterm_drains_and_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VOC_SERVER_GRACE_S": "2", "VOC_METRICS_LISTEN": "127.0.0.1:0"}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "--listen",
            f"127.0.0.1:{port}",
            "--store",
            str(tmp_path / "store"),
            "--log-format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            with VocClient(f"127.0.0.1:{port}", timeout=2) as client:
                client.wait_until_serving(30)
                client.feedback("sig-1", "c1", "NPS", score=9)
                proc.send_signal(signal.SIGTERM)
                _, log = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, log[-3000:]
    assert '"msg":"serving"' in log
    assert "SIGTERM" in log and "server stopped" in log
    # the acknowledged write is in the store after the drain
    from server.store import Store

    store = Store(tmp_path / "store")
    assert store.get("idem", b"f:sig-1") is not None
    store.close()
