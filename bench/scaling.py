"""Throughput of GetSummaryCard with 1..N server processes (`--workers N`) on one port.

For each N, a real server (`python -m server --workers N --demo`) is started over a fresh store and
driven closed-loop by several client processes (spawned, each with its own connection, so the
kernel's SO_REUSEPORT hashing spreads them over the workers). Reported per N: calls/s, the ratio
to N x one worker's, and server CPU per call summed over the supervisor's children (/proc).

On a 2-core machine the clients compete with the server for the same cores, so the ratio shows
what this machine can show; server CPU per call is the figure that says whether a worker does
the same work for each call whatever N is.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.load import ServerProc, spawn, wait_ready
from server.workers import children_of, free_port

CARD_MIX = {"card_known": 1}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def _client(target: str, seconds: float, concurrency: int, seed: int, queue: mp.Queue) -> None:
    import grpc

    from clients import load

    cfg = load.LoadConfig(
        target=target,
        mode="closed",
        concurrency=concurrency,
        duration_s=seconds,
        requests=10_000_000,
        warmup_s=0.5,
        seed=seed,
        mix=dict(CARD_MIX),
        customers=3000,
    )
    with grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        result = load.run_load(cfg, ch)
    queue.put(load.result_dict(result)["rpcs"].get("GetSummaryCard", {}).get("ok", 0))


def measure(workers: int, clients: int, seconds: float, out: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="vocscore-scale-") as tmp:
        port = free_port()
        argv = [
            "-m",
            "server",
            "--listen",
            f"127.0.0.1:{port}",
            "--store",
            f"{tmp}/store",
            "--demo",
            "--workers",
            str(workers),
            "--log-level",
            "WARNING",
            "--log-format",
            "text",
        ]
        server: ServerProc = spawn(f"scale-{workers}", argv, port, out)
        try:
            wait_ready(server, health=True)
            time.sleep(
                3.0 if workers > 1 else 0.5
            )  # every worker listening before the clock starts
            pids = [server.proc.pid, *children_of(server.proc.pid)]
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            procs = [
                ctx.Process(target=_client, args=(server.target, seconds, 4, i, queue))
                for i in range(clients)
            ]
            cpu0, t0 = _cpu_s(pids), time.monotonic()
            for p in procs:
                p.start()
            calls = sum(queue.get(timeout=seconds + 120) for _ in procs)
            for p in procs:
                p.join(timeout=30)
            elapsed = time.monotonic() - t0
            cpu = _cpu_s(pids) - cpu0
        finally:
            server.stop()
    return {
        "workers": workers,
        "clients": clients,
        "calls": calls,
        "calls_per_s": calls / seconds,
        "server_cpu_us_per_call": cpu / calls * 1e6 if calls else None,
        "elapsed_s": round(elapsed, 1),
    }


def report(rows: list[dict]) -> str:
    one = rows[0]["calls_per_s"]
    lines = [
        "| workers | client procs | cards/s | vs N x one worker | server CPU per call |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        target = r["workers"] * one
        cpu = r["server_cpu_us_per_call"]
        cpu_text = f"{cpu:,.0f} us" if cpu else "-"
        lines.append(
            f"| {r['workers']} | {r['clients']} | {r['calls_per_s']:,.0f} | "
            f"{r['calls_per_s'] / target:.2f}x (budget >= 0.80x) | {cpu_text} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scaling", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default="bench/out")
    parser.add_argument("--max-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [measure(n, args.clients, args.seconds, out) for n in range(1, args.max_workers + 1)]
    text = (
        f"## Scaling: GetSummaryCard closed-loop, {args.clients} client processes, "
        f"{args.seconds:.0f} s per point, {os.cpu_count()} CPUs\n\n" + report(rows) + "\n"
    )
    (out / "scaling.md").write_text(text, encoding="utf-8")
    (out / "scaling.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
