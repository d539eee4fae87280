"""Soak: a real server under a steady mixed load for minutes; is memory and latency flat?

    python -m bench.soak [--minutes 5] [--rate 200] [--workers 4] [--out bench/out]

Starts `python -m server` on a free loopback port over a fresh store, seeds profiles, then paces
cards, feedback, utterances (interactions of a few utterances each, then ended) and dashboards at
a fixed total rate. Every --interval seconds it samples the server's VmRSS from /proc and the p50
and p99 of the calls of that interval. Writes <out>/soak.md and <out>/soak.png. Loopback only,
at most two hours, stops by itself. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from clients.client import VocClient
from server.workers import free_port

ROOT = Path(__file__).resolve().parent.parent
MIX = (("card", 0.40), ("utterance", 0.30), ("feedback", 0.15), ("dashboard", 0.15))
TEXTS = (
    "快递一周了还没到，太慢了", "客服态度很好，问题解决了", "付款失败了三次，扣了钱却没到账",
    "The app keeps crashing when I pay", "Thanks, the refund arrived quickly", "我要投诉，一直没人处理",
)  # fmt: skip


@dataclass
class Sample:
    t_s: float
    rss_mib: float
    calls: int
    errors: int
    p50_ms: float
    p99_ms: float
    load1: float  # the machine's 1-min load average: other work skews latency


@dataclass
class Window:
    """Latencies of the current interval, swapped out at each sample."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def take(self) -> tuple[list[float], int]:
        with self.lock:
            out, errors = self.latencies, self.errors
            self.latencies, self.errors = [], 0
        return out, errors


def _tree(pid: int) -> list[int]:
    """The server and every process it forked (its --workers), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        one = todo.pop()
        tree.append(one)
        todo.extend(children.get(one, ()))
    return tree


def rss_mib(pid: int) -> float:
    """VmRSS summed over the server's processes (shared LMDB pages are counted in each)."""
    total = 0
    for one in _tree(pid):
        try:
            lines = Path(f"/proc/{one}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def worker(target: str, n: int, rate: float, customers: int, stop: threading.Event,
           window: Window) -> None:  # fmt: skip
    rng = random.Random(n)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    period = 1.0 / rate
    interaction, utterances = f"soak-{n}-0", 0
    seq = 0
    with VocClient(target, timeout=5) as client:
        next_at = time.perf_counter()
        while not stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            cid = f"S{rng.randrange(customers):06d}"
            seq += 1
            t0 = time.perf_counter()
            try:
                if kind == "card":
                    client.card(cid, interaction_id=interaction)
                elif kind == "utterance":
                    client.score(interaction, rng.choice(TEXTS), customer_id=f"S{n:06d}")
                    utterances += 1
                    if utterances >= 6:
                        client.end_interaction(interaction)
                        interaction, utterances = f"soak-{n}-{seq}", 0
                elif kind == "feedback":
                    client.feedback(f"soak-f-{n}-{seq}", cid, "CSAT", score=rng.randrange(1, 6),
                                    agent_id=f"A{rng.randrange(200):03d}", text=rng.choice(TEXTS))  # fmt: skip
                else:
                    client.dashboard(f"A{rng.randrange(200):03d}")
                elapsed = time.perf_counter() - t0
                with window.lock:
                    window.latencies.append(elapsed)
            except grpc.RpcError:
                with window.lock:
                    window.errors += 1
            next_at += period
            delay = next_at - time.perf_counter()
            if delay > 0:
                stop.wait(delay)
            else:
                next_at = time.perf_counter()  # behind: do not burst to catch up


def start_server(store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    target = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "VOC_METRICS_LISTEN": ""}
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--listen", target, "--store", str(store),
             "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    with VocClient(target, timeout=5) as client:
        client.wait_until_serving(60)
    return proc, target


def slope_per_min(samples: list[Sample], attr: str) -> float:
    """Least-squares slope of one series against minutes."""
    xs = [s.t_s / 60 for s in samples]
    ys = [getattr(s, attr) for s in samples]
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def verdict(samples: list[Sample]) -> dict[str, object]:
    """Flatness after the first interval (warm-up): memory growth and latency drift."""
    steady = samples[1:] if len(samples) > 2 else samples
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]
    mem_slope = slope_per_min(steady, "rss_mib")
    mem_delta = steady[-1].rss_mib - steady[0].rss_mib
    p50_drift = statistics.median(s.p50_ms for s in last) / statistics.median(
        s.p50_ms for s in first
    )
    p99_drift = statistics.median(s.p99_ms for s in last) / statistics.median(
        s.p99_ms for s in first
    )
    return {
        "mem_slope_mib_per_min": mem_slope,
        "mem_delta_mib": mem_delta,
        "p50_drift": p50_drift,
        "p99_drift": p99_drift,
        "memory_flat": abs(mem_delta) <= max(8.0, 0.05 * steady[0].rss_mib),
        "latency_flat": p50_drift <= 1.25 and p99_drift <= 1.5,
    }


def write_report(out: Path, args: argparse.Namespace, samples: list[Sample], v: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    calls = sum(s.calls for s in samples)
    errors = sum(s.errors for s in samples)
    lines = [
        "# Soak",
        "",
        f"{args.minutes:g} min, {args.rate:g} req/s target over {args.workers} workers, mix "
        + ", ".join(f"{k} {w:.0%}" for k, w in MIX)
        + f"; {calls} calls, {errors} errors; sample every {args.interval:g} s.",
        "",
        f"- memory: {samples[0].rss_mib:.1f} -> {samples[-1].rss_mib:.1f} MiB RSS, "
        f"{v['mem_slope_mib_per_min']:+.2f} MiB/min after warm-up "
        f"({'flat' if v['memory_flat'] else 'GROWING'})",
        f"- latency: p50 last/first third x{v['p50_drift']:.2f}, p99 x{v['p99_drift']:.2f} "
        f"({'flat' if v['latency_flat'] else 'DRIFTING'})",
        "",
        "![memory and latency](soak.png)",
        "",
        "| t (s) | RSS (MiB) | calls | errors | p50 (ms) | p99 (ms) | load avg |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {s.t_s:.0f} | {s.rss_mib:.1f} | {s.calls} | {s.errors} | {s.p50_ms:.2f} | {s.p99_ms:.2f} | {s.load1:.2f} |"
        for s in samples
    ]
    (out / "soak.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t_s / 60 for s in samples]
    fig, (mem, lat) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    mem.plot(minutes, [s.rss_mib for s in samples], marker="o")
    mem.set_ylabel("server RSS (MiB)")
    mem.set_ylim(bottom=0)
    lat.plot(minutes, [s.p50_ms for s in samples], marker="o", label="p50")
    lat.plot(minutes, [s.p99_ms for s in samples], marker="o", label="p99")
    lat.set_ylabel("latency (ms)")
    lat.set_xlabel("minutes")
    lat.set_ylim(bottom=0)
    lat.legend()
    fig.suptitle(f"vocscore soak: {args.rate:g} req/s mixed load")
    fig.tight_layout()
    fig.savefig(out / "soak.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0, help="total requests per second")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    if not (0 < args.minutes <= 120 and 1 <= args.workers <= 16 and 0 < args.rate <= 5000):
        parser.error("--minutes 0-120, --workers 1-16, --rate 0-5000")

    with tempfile.TemporaryDirectory(prefix="vocscore-soak-") as tmp:
        proc, target = start_server(Path(tmp) / "store", Path(tmp) / "server.log")
        stop = threading.Event()
        samples: list[Sample] = []
        try:
            with VocClient(target, timeout=60) as client:
                client.upsert_profiles(
                    {"customer_id": f"S{i:06d}", "tier": ("STANDARD", "VIP", "VVIP")[i % 3]}
                    for i in range(args.customers)
                )
            window = Window()
            threads = [
                threading.Thread(
                    target=worker,
                    name=f"soak-{n}",
                    daemon=True,
                    args=(target, n, args.rate / args.workers, args.customers, stop, window),
                )  # fmt: skip
                for n in range(args.workers)
            ]
            started = time.monotonic()
            for t in threads:
                t.start()
            end = started + args.minutes * 60
            while time.monotonic() < end:
                time.sleep(min(args.interval, max(0.0, end - time.monotonic())))
                if proc.poll() is not None:
                    print("server exited during the soak", file=sys.stderr)
                    return 1
                latencies, errors = window.take()
                s = Sample(time.monotonic() - started, rss_mib(proc.pid), len(latencies), errors,
                           percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000,
                           os.getloadavg()[0])  # fmt: skip
                samples.append(s)
                print(f"t={s.t_s:5.0f}s rss={s.rss_mib:7.1f} MiB calls={s.calls:6d} "
                      f"errors={s.errors} p50={s.p50_ms:.2f} ms p99={s.p99_ms:.2f} ms load={s.load1:.2f}", flush=True)  # fmt: skip
        finally:
            stop.set()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    if len(samples) < 2:
        print("too short to judge: run at least two intervals", file=sys.stderr)
        return 1
    v = verdict(samples)
    write_report(args.out, args, samples, v)
    print(f"memory {'flat' if v['memory_flat'] else 'GROWING'} "
          f"({v['mem_delta_mib']:+.1f} MiB, {v['mem_slope_mib_per_min']:+.2f} MiB/min); "
          f"latency {'flat' if v['latency_flat'] else 'DRIFTING'} "
          f"(p50 x{v['p50_drift']:.2f}, p99 x{v['p99_drift']:.2f}); wrote {args.out / 'soak.md'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
