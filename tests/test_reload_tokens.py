"""New and revoked tokens take effect on SIGHUP (Running.reload), with no restart."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest

from clients.client import VocClient
from server.app import build_server
from server.auth import hash_token
from server.config import load_config

OLD = "test-reload-old-secret-0123456789"
NEW = "test-reload-new-secret-0123456789"


def write_config(path: Path, store: Path, *secrets: str, board: str = "") -> None:
    lines = [
        "[server]",
        'listen = "127.0.0.1:0"',
        "[store]",
        f'path = "{store}"',
        "map_size_mb = 64",
        "[metrics]",
        'listen = ""',
        "[board]",
        f'listen = "{board}"',
    ]
    for i, secret in enumerate(secrets):
        lines += [
            "[[auth.tokens]]",
            f'name = "ops-{i}"',
            f'sha256 = "{hash_token(secret)}"',
            'roles = ["ops"]',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def allowed(port: int, secret: str) -> bool:
    with VocClient(f"127.0.0.1:{port}", token=secret, timeout=5) as c:
        try:
            c.list_triggers()
            return True
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            return False


def test_tokens_are_reloaded_without_a_restart(tmp_path: Path, caplog) -> None:
    config = tmp_path / "voc.toml"
    write_config(config, tmp_path / "store", OLD)
    running = build_server(load_config(config, env={}))
    try:
        assert allowed(running.port, OLD) and not allowed(running.port, NEW)
        write_config(config, tmp_path / "store", NEW)  # rotate: the new one in, the old one out
        running.reload()
        assert allowed(running.port, NEW) and not allowed(running.port, OLD)
        config.write_text("[auth\nbroken", encoding="utf-8")  # a bad edit keeps what works
        running.reload()
        assert allowed(running.port, NEW)
        assert "keeping the current tokens" in caplog.text
    finally:
        running.stop(grace=0.2)


def test_auth_cannot_be_turned_off_by_a_reload(tmp_path: Path) -> None:
    config = tmp_path / "voc.toml"
    write_config(config, tmp_path / "store", OLD)
    running = build_server(load_config(config, env={}))
    try:
        write_config(config, tmp_path / "store")  # no tokens at all
        running.reload()
        assert allowed(running.port, OLD)
        with VocClient(f"127.0.0.1:{running.port}", timeout=5) as anonymous:
            with pytest.raises(grpc.RpcError) as refused:
                anonymous.list_triggers()
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        running.stop(grace=0.2)


def test_the_board_takes_the_reloaded_tokens_too(tmp_path: Path) -> None:
    config = tmp_path / "voc.toml"
    write_config(config, tmp_path / "store", OLD, board="127.0.0.1:0")
    running = build_server(load_config(config, env={}))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        assert running.board is not None
        base = f"http://127.0.0.1:{running.board.port}"
        write_config(config, tmp_path / "store", NEW, board="127.0.0.1:0")
        running.reload()
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.post("/login", content=f"token={OLD}", headers=form).status_code == 401
            assert http.post("/login", content=f"token={NEW}", headers=form).status_code == 303
    finally:
        running.stop(grace=0.2)
