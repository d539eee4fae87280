"""Shared fixtures: configs over temporary stores and a real server on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (a failure there is reproducible, never a coin toss);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache")
)
# servers started by main() or as subprocesses must not fight over the default metrics port
os.environ.setdefault("VOC_METRICS_LISTEN", "127.0.0.1:0")
os.environ.setdefault("VOC_BOARD_LISTEN", "127.0.0.1:0")

from clients.client import VocClient  # noqa: E402
from server.app import Running, build_server  # noqa: E402
from server.config import Config, load_config  # noqa: E402
from tests.redis_server import redis_server, redis_url  # noqa: E402, F401 - cluster fixtures


def make_config(store: Path, **sections: dict) -> Config:
    """Defaults, a temporary store and port 0, plus per-test overrides; ignores VOC_* of the host."""
    overrides = {
        "server": {"listen": "127.0.0.1:0", "log_format": "text"},
        "store": {"path": str(store), "map_size_mb": 64},
        "metrics": {"listen": "127.0.0.1:0"},
        "board": {"listen": ""},  # tests that want the board ask for it
    }
    for name, table in sections.items():
        overrides.setdefault(name, {}).update(table)
    return load_config(None, env={}, overrides=overrides)


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return make_config(tmp_path / "store")


@pytest.fixture(scope="session")
def lexicon():
    from server.lexicon import load_lexicon

    return load_lexicon()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One real server per test module, on a free port, over its own store."""
    running = build_server(make_config(tmp_path_factory.mktemp("store")))
    try:
        yield running
    finally:
        running.stop(grace=0.5)


@pytest.fixture(scope="module")
def client(server: Running) -> Iterator[VocClient]:
    with VocClient(f"127.0.0.1:{server.port}", timeout=10.0) as c:
        c.wait_until_serving()
        yield c
