"""Health, cards and scoring with thousands of open live-call streams and watchers, against the
same calls without them (issue: streams at contact-center scale).

A real server (`python -m server --workers 1 --demo`) runs in a subprocess; a second subprocess
(`python -m clients.idle_streams`) opens `--live` StreamInteraction streams (each sends one
customer utterance, then stays open and silent, as a call between utterances does) and `--watch`
WatchTriggers watchers. Health/Check, GetSummaryCard and ScoreUtterance are sent at a steady rate
(open loop, one thread each) in three phases: before the streams, with them held, after they
closed; a twin server that never holds a stream takes the same calls in the same windows.
Reported: p50/p99 per call and phase, the p99 ratio with/without streams (the budget is <= 1.5x)
both a phase apart and against the twin in the same window (on a shared machine the first moves
with whatever else runs), errors, the server's resident memory and threads per 1,000 open
streams, and its CPU in each phase.

    python -m bench.streams                      # 5,000 live + 500 watchers, about 2 minutes
    python -m bench.streams --live 1000 --watch 100 --seconds 5
    python -m bench.streams --aio                # the grpc.aio candidate over the same service
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hdrh.histogram import HdrHistogram

from bench.load import REPO, child_env, spawn, wait_ready
from clients.pb import voc_pb2, voc_pb2_grpc
from server.workers import free_port

RATE_PER_S = 40  # each of the three calls, open loop
CALL_TIMEOUT_S = 5.0
HOLD_TIMEOUT_S = 600
SETTLE_TIMEOUT_S = 180.0
CALLS = ("Health/Check", "GetSummaryCard", "ScoreUtterance")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_of(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def calls(channel: grpc.Channel) -> dict[str, Callable[[int], Any]]:
    voc = voc_pb2_grpc.VocStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    return {
        "Health/Check": lambda i: health.Check(
            health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT_S
        ),
        "GetSummaryCard": lambda i: voc.GetSummaryCard(
            voc_pb2.CardRequest(customer_id=f"C{i % 3000 + 1:04d}"), timeout=CALL_TIMEOUT_S
        ),
        "ScoreUtterance": lambda i: voc.ScoreUtterance(
            voc_pb2.Utterance(
                interaction_id=f"bench-streams-{i % 200}",
                customer_id=f"C{i % 200 + 1:04d}",
                agent_id="A001",
                speaker=voc_pb2.CUSTOMER,
                channel=voc_pb2.CHAT,
                text="退款申请了十天还没到账，你们到底管不管",
            ),
            timeout=CALL_TIMEOUT_S,
        ),
    }


def settle(call: Callable[[int], Any], timeout_s: float = SETTLE_TIMEOUT_S) -> float:
    """Seconds until `call` answers (the server may still be ending thousands of streams)."""
    t0 = time.monotonic()
    while True:
        try:
            call(0)
            return time.monotonic() - t0
        except grpc.RpcError:
            if time.monotonic() - t0 > timeout_s:
                raise


def phase(target: str, seconds: float, rate: float) -> dict[str, dict[str, float]]:
    """Each call at `rate` per second for `seconds`, from its own thread and channel; latency in
    microseconds measured from the intended send time (no coordinated omission)."""
    results: dict[str, dict[str, float]] = {}

    def drive(name: str) -> None:
        hist = HdrHistogram(1, 60_000_000, 3)
        errors = 0
        with grpc.insecure_channel(target) as channel:
            call = calls(channel)[name]
            settle(call)  # connected and answering before the clock starts
            start = time.perf_counter()
            n = int(seconds * rate)
            for i in range(n):
                due = start + i / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                try:
                    call(i)
                except grpc.RpcError:
                    errors += 1
                hist.record_value(max(1, int((time.perf_counter() - due) * 1e6)))
        results[name] = {
            "n": n,
            "errors": errors,
            "p50_ms": hist.get_value_at_percentile(50) / 1000,
            "p99_ms": hist.get_value_at_percentile(99) / 1000,
        }

    threads = [threading.Thread(target=drive, args=(name,)) for name in CALLS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


class Holder:
    """The stream holder subprocess: open on start, closed when its stdin closes."""

    def __init__(self, target: str, live: int, watch: int, out: Path) -> None:
        self.log = (out / "holder.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clients.idle_streams", "--target", target]
            + ["--live", str(live), "--watch", str(watch), "--channels", "16"],
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )

    def opened(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the stream holder ended before its streams were open")
        return json.loads(line)

    def close(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            line = self.proc.stdout.readline()
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            line = b""
        self.log.close()
        return json.loads(line) if line else {}


class Busy:
    """The server's CPU, in % of one core, over each phase measured through it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.pct: list[float] = []

    def during(self, measure: Callable[..., Any], *args: Any) -> Any:
        cpu0, t0 = cpu_seconds(self.pid), time.monotonic()
        result = measure(*args)
        self.pct.append(100 * (cpu_seconds(self.pid) - cpu0) / (time.monotonic() - t0))
        return result


def start(out: Path, tmp: Path, aio: bool, name: str = "real") -> Any:
    """The server (or, with `aio`, the grpc.aio prototype in bench/streams_aio.py) over a demo
    store, without its metrics, board and gateway ports: another server on the machine may hold
    the default ones, and they play no part here."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "streams.toml"
    config.write_text(
        '[metrics]\nlisten = ""\n[board]\nlisten = ""\n[gateway]\nlisten = ""\n', encoding="utf-8"
    )
    listen = ["--listen", f"127.0.0.1:{port}", "--store", str(tmp / "store")]
    if aio:
        server = spawn(f"{name}-aio", ["-m", "bench.streams_aio", *listen], port, out)
    else:
        argv = ["-m", "server", *listen, "--config", str(config), "--demo", "--workers", "1"]
        server = spawn(name, [*argv, "--log-level", "WARNING", "--log-format", "text"], port, out)
    wait_ready(server, health=True)
    return server


def side_by_side(targets: list[str], seconds: float, rate: float) -> list[dict[str, Any]]:
    """The same phase against each target at once: one machine, one window."""
    results: list[dict[str, Any]] = [{} for _ in targets]

    def one(i: int) -> None:
        results[i] = phase(targets[i], seconds, rate)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(targets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vocscore-streams-") as tmp:
        server = start(out, Path(tmp) / "real", args.aio)
        # a twin that never holds a stream, measured in the same windows: on a shared machine
        # the ratio of two p99s taken a minute apart moves more than the streams do
        twin = start(out, Path(tmp) / "twin", args.aio, name="twin")
        targets = [server.target, twin.target]
        try:
            pid = server.proc.pid
            busy = Busy(pid)
            before, twin_before = busy.during(side_by_side, targets, args.seconds, args.rate)
            rss0, threads0 = rss_mib(pid), threads_of(pid)
            t0 = time.monotonic()
            holder = Holder(server.target, args.live, args.watch, out)
            try:
                held = holder.opened()
                open_s = time.monotonic() - t0
                time.sleep(1.0)
                rss1, threads1 = rss_mib(pid), threads_of(pid)
                holding = Busy(holder.proc.pid)  # it shares the machine's cores
                during, twin_during = busy.during(
                    holding.during, side_by_side, targets, args.seconds, args.rate
                )
            finally:
                ended = holder.close()
            with grpc.insecure_channel(server.target) as channel:
                settle_s = settle(calls(channel)["Health/Check"])
            after = busy.during(phase, server.target, args.seconds, args.rate)
            rss2 = rss_mib(pid)
        finally:
            server.stop()
            twin.stop()
    opened = held.get("live_open", 0) + held.get("watch_open", 0)
    per_k = 1000 / opened if opened else float("nan")
    return {
        "live": args.live,
        "watch": args.watch,
        "held": held,
        "ended": ended,
        "open_s": open_s,
        "settle_s": settle_s,
        "rss_mib": {"before": rss0, "with_streams": rss1, "after_close": rss2},
        "mib_per_1000_streams": (rss1 - rss0) * per_k,
        "threads": {"before": threads0, "with_streams": threads1},
        # the server's CPU while serving the same calls: the figure least moved by a busy machine
        "cpu_pct": dict(zip(("without", "with", "after"), busy.pct, strict=True)),
        "holder_cpu_pct": holding.pct[0],
        "phases": {"without": before, "with": during, "after": after},
        "twin": {"without": twin_before, "with": twin_during},
        "p99_ratio": {
            name: during[name]["p99_ms"] / max(before[name]["p99_ms"], 1e-3) for name in before
        },
        "p99_ratio_twin": {
            name: during[name]["p99_ms"] / max(twin_during[name]["p99_ms"], 1e-3) for name in before
        },
    }


def report(r: dict[str, Any]) -> str:
    held = r["held"]
    lines = [
        f"## Open streams: {held.get('live_open', 0):,} live calls + {held.get('watch_open', 0):,}"
        f" watchers held (asked {r['live']:,} + {r['watch']:,}), opened in {r['open_s']:.0f} s",
        "",
        "| call | p50 ms without | p99 ms without | p50 ms with | p99 ms with | p99 after close |"
        " p99 with / without | twin p50 / p99 ms, same window | p99 with / twin | errors with |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ph, tw = r["phases"], r["twin"]["with"]
    for name in CALLS:
        a, b, c, t = ph["without"][name], ph["with"][name], ph["after"][name], tw[name]
        lines.append(
            f"| {name} | {a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {b['p50_ms']:.2f} | "
            f"{b['p99_ms']:.2f} | {c['p99_ms']:.2f} | {r['p99_ratio'][name]:.2f}x | "
            f"{t['p50_ms']:.2f} / {t['p99_ms']:.2f} | {r['p99_ratio_twin'][name]:.2f}x | "
            f"{b['errors']} |"
        )
    rss, cpu = r["rss_mib"], r["cpu_pct"]
    lines += [
        "",
        f"Server RSS {rss['before']:.0f} MiB -> {rss['with_streams']:.0f} MiB with the streams "
        f"({r['mib_per_1000_streams']:.0f} MiB per 1,000 open streams), {rss['after_close']:.0f} "
        f"MiB after they closed; threads {r['threads']['before']:,} -> "
        f"{r['threads']['with_streams']:,}. Streams refused or failed: "
        f"{held.get('ended') or 'none'}; at close: {r['ended'].get('ended') or 'none'}. After "
        f"the holder closed them, health answered again in {r['settle_s']:.1f} s. Server CPU "
        f"while serving the calls: {cpu['without']:.0f} % of a core without the streams, "
        f"{cpu['with']:.0f} % with them, {cpu['after']:.0f} % after; the holder of the streams "
        f"{r['holder_cpu_pct']:.0f} % while they were held.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.streams", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--live", type=int, default=5000)
    parser.add_argument("--watch", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    parser.add_argument("--rate", type=float, default=RATE_PER_S, help="calls/s of each kind")
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    parser.add_argument(
        "--aio",
        action="store_true",
        help="measure the grpc.aio prototype (bench/streams_aio.py) instead of the server",
    )
    args = parser.parse_args(argv)
    result = run(args)
    (Path(args.out) / "streams.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    text = report(result)
    (Path(args.out) / "streams.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    held = result["held"]
    complete = held.get("live_open") == args.live and held.get("watch_open") == args.watch
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
