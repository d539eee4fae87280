"""The real server against an empty gRPC handler under the same load, in one run: ratios and budgets.

    python -m bench.load --out bench/out [--duration S] [--rounds R] [--quick] [--strict]

Both servers run as separate processes (`python -m bench.empty_server` and `python -m server`,
each on its own free loopback port, same thread pool and options); this process is the load
generator. Separate processes because a client in the server's process would share its GIL: the
client's own ~300 us of Python per call would be charged to the server and squeeze every ratio
towards 1, and /proc/<pid>/stat could not tell the server's CPU from the client's. Spawned
interpreters (not multiprocessing forks) also keep grpcio's fork caveats out of the picture.

Phases, each run against both servers back to back (the order alternates by round, so drift hits
both alike): a sequential client (one request at a time, the default contact-center mix) for the
p50 of every RPC, then closed-loop runs of cards only, utterances only and the full mix for
throughput and server CPU per call. Figures are medians over rounds of the ratio real / empty
measured in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from hdrh.histogram import HdrHistogram

from clients import load
from clients.client import VocClient, utterance_message
from clients.pb import voc_pb2_grpc
from server.workers import free_port

REPO = Path(__file__).resolve().parent.parent
DEMO_CUSTOMERS = 3000  # `python -m server --demo` seeds C0001..C3000 with feedback history
START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Phase:
    name: str
    concurrency: int  # 1: the sequential client
    mix: Mapping[str, int]
    rpc: str | None  # the RPC whose throughput this phase measures (None: the whole mix)


@dataclass(frozen=True)
class Budget:
    rpc: str
    metric: str  # p50 | throughput
    limit: float

    @property
    def text(self) -> str:
        op = "<=" if self.metric == "p50" else ">="
        return f"{self.rpc} {self.metric} {op} {self.limit:g}x empty"

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.metric == "p50" else ratio >= self.limit


BUDGETS = (
    Budget("GetSummaryCard", "p50", 1.15),
    Budget("GetSummaryCard", "throughput", 0.8),
    Budget("ScoreUtterance", "p50", 1.25),
)


def phases(concurrency: int) -> tuple[Phase, ...]:
    return (
        Phase("sequential", 1, load.DEFAULT_MIX, None),
        Phase("cards", concurrency, {"card_known": 5, "card_unknown": 1}, "GetSummaryCard"),
        Phase("utterances", concurrency, {"utterance": 1}, "ScoreUtterance"),
        Phase("mix", concurrency, load.DEFAULT_MIX, None),
    )


# -- the servers under test --------------------------------------------------------------


@dataclass
class ServerProc:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def child_env() -> dict[str, str]:
    # VOC_* of the host would make the real server differ from the empty one's defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    return env


def spawn(
    name: str, argv: list[str], port: int, out: Path, env: Mapping[str, str] | None = None
) -> ServerProc:
    log_path = out / f"server-{name}.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=REPO,
            env={**child_env(), **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return ServerProc(name, proc, port, log_path)


def wait_ready(server: ServerProc, health: bool) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with grpc.insecure_channel(server.target) as channel:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                break
            try:
                grpc.channel_ready_future(channel).result(timeout=1.0)
                break
            except grpc.FutureTimeoutError:
                continue
    if server.proc.poll() is not None or time.monotonic() >= deadline:
        raise RuntimeError(f"{server.name} server did not start:\n{server.log_tail()}")
    if health:
        with VocClient(server.target, timeout=5.0) as client:
            client.wait_until_serving(max(1.0, deadline - time.monotonic()))


def start_empty(out: Path, threads: int) -> ServerProc:
    port = free_port()
    server = spawn(
        "empty",
        ["-m", "bench.empty_server", "--threads", str(threads), "--port", str(port)],
        port,
        out,
    )
    wait_ready(server, health=False)
    return server


def start_real(out: Path, store: Path, workers: int = 0) -> ServerProc:
    """`python -m server` with `workers` processes (0: its default, one per core, plus the
    trigger owner)."""
    port = free_port()
    argv = [
        "-m",
        "server",
        "--listen",
        f"127.0.0.1:{port}",
        "--store",
        str(store),
        "--demo",
        "--workers",
        str(workers),
    ]
    # metrics stay on (a port of their own, chosen by the system); the ops pages are off: their
    # fixed default ports may be taken by another server on this host
    side_ports = {
        "VOC_METRICS_LISTEN": "127.0.0.1:0",
        "VOC_BOARD_LISTEN": "",
        "VOC_GATEWAY_LISTEN": "",
    }
    argv = [*argv, "--log-level", "WARNING", "--log-format", "text"]
    server = spawn("real", argv, port, out, side_ports)
    wait_ready(server, health=True)
    return server


def load_profiles(target: str, total: int, seed: int) -> int:
    """Upserts the profiles beyond the demo's through Admin.UpsertProfiles, as a CRM sync would."""
    rng = random.Random(seed)
    rows = (
        {
            "customer_id": load.CUSTOMER_FORMAT.format(i),
            "tier": rng.choices(("STANDARD", "VIP", "VVIP"), (80, 15, 5))[0],
            "locale": rng.choice(("zh", "en")),
            "region": rng.choice(("north", "east", "south", "west")),
        }
        for i in range(DEMO_CUSTOMERS + 1, total + 1)
    )
    with VocClient(target, timeout=60.0) as client:
        return client.upsert_profiles(rows).upserted


# -- measuring ---------------------------------------------------------------------------

CALL_TEXTS = (  # one live call, customer and agent in turn
    ("CUSTOMER", "我的快递一周了还没到，你们到底怎么回事"),
    ("AGENT", "非常抱歉，我马上帮您查一下物流"),
    ("CUSTOMER", "退款申请了十天还没到账，太气人了"),
    ("AGENT", "我已经帮您加急处理"),
    ("CUSTOMER", "my order is late again and nobody answers"),
    ("CUSTOMER", "好吧，谢谢"),
)


def live_call(server: ServerProc, channel: grpc.Channel, utterances: int, tag: str) -> dict:
    """One live call on one StreamInteraction stream, pipelined (the client sends without
    waiting for replies, as a CTI bridge relays ASR): time and server CPU per utterance."""
    stub = voc_pb2_grpc.VocStub(channel)

    def messages():
        for i in range(utterances):
            speaker, text = CALL_TEXTS[i % len(CALL_TEXTS)]
            yield utterance_message(
                f"bench-call-{tag}", text, customer_id="C0001", agent_id="A001", speaker=speaker
            )

    cpu0 = tree_cpu_s(server.proc.pid)
    t0 = time.perf_counter()
    replies = sum(1 for _ in stub.StreamInteraction(messages(), timeout=120))
    elapsed = time.perf_counter() - t0
    cpu = tree_cpu_s(server.proc.pid) - cpu0
    return {
        "replies": replies,
        "us_per_utterance": elapsed * 1e6 / max(1, replies),
        "server_cpu_us_per_utterance": cpu * 1e6 / max(1, replies),
    }


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and every live descendant (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(load.proc_cpu_s(p) or 0.0 for p in tree)


def measure(
    server: ServerProc,
    channel: grpc.Channel,
    phase: Phase,
    duration_s: float,
    seed: int,
    customers: int,
) -> tuple[dict[str, Any], dict[str, HdrHistogram]]:
    cfg = load.LoadConfig(
        target=server.target,
        mode="closed",
        concurrency=phase.concurrency,
        duration_s=0.2,
        requests=1_000_000,
        seed=seed,
        mix=dict(phase.mix),
        customers=customers,
    )
    load.run_load(cfg, channel)  # warm-up, not measured
    # the server's CPU is that of its whole process tree: its workers and trigger owner
    cpu0 = tree_cpu_s(server.proc.pid)
    result = load.run_load(replace(cfg, duration_s=duration_s), channel)
    result.server_cpu_s = tree_cpu_s(server.proc.pid) - cpu0
    summary = load.result_dict(result)
    for rpc in summary["rpcs"].values():
        rpc.pop("hdr")  # the merged histograms are kept instead
    return summary, dict(result.rec.hist)


def ratio(real: float | None, empty: float | None) -> float | None:
    return real / empty if real and empty else None


def med(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{min(present):.2f}-{max(present):.2f}" if len(present) > 1 else ""


def p50(summary: Mapping[str, Any], rpc: str) -> float | None:
    return summary["rpcs"].get(rpc, {}).get("latency_us", {}).get("p50")


def ok_per_s(summary: Mapping[str, Any], rpc: str | None) -> float | None:
    if rpc is None:
        return summary["ok"] / summary["elapsed_s"] if summary["ok"] else None
    return summary["rpcs"].get(rpc, {}).get("ok_per_s") or None


def errors_of(summaries: list[dict[str, Any]], rpc: str) -> str:
    codes: dict[str, int] = {}
    for s in summaries:
        for code, n in s["rpcs"].get(rpc, {}).get("errors", {}).items():
            codes[code] = codes.get(code, 0) + n
    return ", ".join(f"{c} {n}" for c, n in sorted(codes.items())) or "-"


def fmt(value: float | None, spec: str = ",.0f", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def analyse(
    runs: dict[str, dict[str, list[dict[str, Any]]]], plan: tuple[Phase, ...]
) -> dict[str, Any]:
    """Per-round ratios real / empty and their medians, from runs[phase][server] = [summaries]."""
    seq = runs["sequential"]
    latency = {}
    rpcs = [r for r in load.RPCS if any(r in s["rpcs"] for s in seq["empty"] + seq["real"])]
    for rpc in rpcs:
        ratios = [
            ratio(p50(r, rpc), p50(e, rpc)) for e, r in zip(seq["empty"], seq["real"], strict=True)
        ]
        p99 = {
            name: med([s["rpcs"].get(rpc, {}).get("latency_us", {}).get("p99") for s in seq[name]])
            for name in ("empty", "real")
        }
        latency[rpc] = {
            "empty_p50_us": med([p50(s, rpc) for s in seq["empty"]]),
            "real_p50_us": med([p50(s, rpc) for s in seq["real"]]),
            "p50_ratio": med(ratios),
            "p50_ratio_range": spread(ratios),
            "empty_p99_us": p99["empty"],
            "real_p99_us": p99["real"],
            "real_errors": errors_of(seq["real"], rpc),
        }
    throughput = {}
    for phase in plan:
        if phase.concurrency == 1:
            continue
        empty, real = runs[phase.name]["empty"], runs[phase.name]["real"]
        rates = [
            ratio(ok_per_s(r, phase.rpc), ok_per_s(e, phase.rpc))
            for e, r in zip(empty, real, strict=True)
        ]
        cpu = {
            name: med([s["server_cpu_us_per_call"] for s in runs[phase.name][name]])
            for name in ("empty", "real")
        }
        throughput[phase.name] = {
            "rpc": phase.rpc or "all (mix)",
            "concurrency": phase.concurrency,
            "empty_ok_per_s": med([ok_per_s(s, phase.rpc) for s in empty]),
            "real_ok_per_s": med([ok_per_s(s, phase.rpc) for s in real]),
            "ratio": med(rates),
            "ratio_range": spread(rates),
            "empty_server_cpu_us_per_call": cpu["empty"],
            "real_server_cpu_us_per_call": cpu["real"],
            "cpu_ratio": ratio(cpu["real"], cpu["empty"]),
            "client_cpu_us_per_call": med([s["client_cpu_us_per_call"] for s in empty + real]),
            "real_errors": errors_of(real, phase.rpc) if phase.rpc else "",
        }
    budgets = []
    for b in BUDGETS:
        if b.metric == "p50":
            value = latency.get(b.rpc, {}).get("p50_ratio")
            why = latency.get(b.rpc, {}).get("real_errors", "no calls")
        else:
            row = next((t for t in throughput.values() if t["rpc"] == b.rpc), {})
            value, why = row.get("ratio"), row.get("real_errors", "no calls")
        status = "not measured" if value is None else ("met" if b.met(value) else "NOT met")
        budgets.append(
            {"budget": b.text, "ratio": value, "status": status, "note": "" if value else why}
        )
    return {"latency": latency, "throughput": throughput, "budgets": budgets}


def analyse_call(calls: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The pipelined live call: per-round ratios real / empty (echo) and their medians."""
    times = [
        ratio(r["us_per_utterance"], e["us_per_utterance"])
        for e, r in zip(calls["empty"], calls["real"], strict=True)
    ]
    return {
        name: {
            "us_per_utterance": med([c["us_per_utterance"] for c in calls[name]]),
            "utterances_per_s": med([1e6 / c["us_per_utterance"] for c in calls[name]]),
            "server_cpu_us_per_utterance": med(
                [c["server_cpu_us_per_utterance"] for c in calls[name]]
            ),
        }
        for name in ("empty", "real")
    } | {"ratio": med(times), "ratio_range": spread(times)}


def report(analysis: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    lines = [
        "# vocscore under load: real server vs an empty gRPC handler (same run)",
        "",
        f"{meta['rounds']} rounds of {meta['duration_s']:g} s per phase and server; figures are "
        "medians over rounds of the ratio real / empty measured in the same round (range in "
        f"brackets). Servers: separate processes, {meta['threads']} threads each, loopback; "
        f"real server with --workers {meta['workers']} (0: one per core plus the trigger owner); "
        f"store: {meta['profiles']:,} profiles ({DEMO_CUSTOMERS:,} with demo history). Client: one "
        f"Python process (this one), one channel per server. Host: {meta['cpus']} CPUs.",
        "",
        "## Budgets (DESIGN.md)",
        "",
        "| budget | measured | status |",
        "| --- | ---: | --- |",
    ]
    for b in analysis["budgets"]:
        measured = f"{b['ratio']:.2f}x" if b["ratio"] is not None else f"- ({b['note']})"
        lines.append(f"| {b['budget']} | {measured} | {b['status']} |")
    lines += [
        "",
        "## Latency: sequential client (one request at a time, contact-center mix), microseconds",
        "",
        "| RPC | empty p50 | real p50 | p50 ratio | range | empty p99 | real p99 | real errors |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for rpc, r in analysis["latency"].items():
        lines.append(
            f"| {rpc} | {fmt(r['empty_p50_us'])} | {fmt(r['real_p50_us'])} | "
            f"{fmt(r['p50_ratio'], '.2f')}x | {r['p50_ratio_range']} | {fmt(r['empty_p99_us'])} | "
            f"{fmt(r['real_p99_us'])} | {r['real_errors']} |"
        )
    lines += [
        "",
        "## Throughput: closed loop, and server CPU per call (from /proc/<pid>/stat)",
        "",
        "| load | RPC | workers | empty ok/s | real ok/s | ratio | range | server CPU us/call empty | real | CPU ratio | client CPU us/call | real errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, t in analysis["throughput"].items():
        lines.append(
            f"| {name} | {t['rpc']} | {t['concurrency']} | {fmt(t['empty_ok_per_s'])} | "
            f"{fmt(t['real_ok_per_s'])} | {fmt(t['ratio'], '.2f')}x | {t['ratio_range']} | "
            f"{fmt(t['empty_server_cpu_us_per_call'])} | {fmt(t['real_server_cpu_us_per_call'])} | "
            f"{fmt(t['cpu_ratio'], '.2f')}x | {fmt(t['client_cpu_us_per_call'])} | {t['real_errors'] or '-'} |"
        )
    call = analysis["live_call"]
    lines += [
        "",
        f"## A live call: one StreamInteraction stream, {meta['call']:,} utterances pipelined",
        "",
        "| server | us per utterance | utterances/s | server CPU us/utterance |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {name} | {fmt(call[name]['us_per_utterance'])} | "
            f"{fmt(call[name]['utterances_per_s'])} | "
            f"{fmt(call[name]['server_cpu_us_per_utterance'])} |"
            for name in ("empty", "real")
        ),
        f"| ratio real / empty echo | {fmt(call['ratio'], '.2f')}x ({call['ratio_range']}) | | |",
    ]
    lines += [
        "",
        "The client is Python too and spends about as much CPU per call as the empty server, so on "
        "a small machine closed-loop throughput is partly client-bound and its ratio understates "
        "the server's own cost; the server-CPU ratio is the capacity figure that does not depend "
        "on the client. RPCs the real server does not implement yet answer UNIMPLEMENTED and have "
        "no ratio.",
        "",
        "![latency by percentile, sequential client](load_compare.png)",
    ]
    return "\n".join(lines) + "\n"


def plot(hists: Mapping[str, Mapping[str, HdrHistogram]], path: Path) -> None:
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    curves: dict[str, HdrHistogram] = {}
    styles: dict[str, dict[str, Any]] = {}
    for i, rpc in enumerate(load.RPCS):
        for name, dash in (("real", "-"), ("empty", "--")):
            hist = hists[name].get(rpc)
            if hist is not None and hist.get_total_count():
                label = f"{rpc} {name}"
                curves[label] = hist
                styles[label] = {"color": colors[i % len(colors)], "linestyle": dash}
    load.plot_percentiles(
        curves,
        path,
        "Sequential client: real server (solid) vs empty handler (dashed)",
        styles,
    )


def run(args: argparse.Namespace) -> int:
    from server.config import load_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = load_config(None, env={}).server.threads
    plan = phases(args.concurrency)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        p.name: {"empty": [], "real": []} for p in plan
    }
    seq_hists: dict[str, dict[str, HdrHistogram]] = {"empty": {}, "real": {}}
    calls: dict[str, list[dict[str, Any]]] = {"empty": [], "real": []}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vocscore-bench-") as tmp:
        servers: dict[str, ServerProc] = {}
        channels: dict[str, grpc.Channel] = {}
        try:
            servers["empty"] = start_empty(out, threads)
            servers["real"] = start_real(out, Path(tmp) / "store", args.workers)
            upserted = load_profiles(servers["real"].target, args.profiles, args.seed)
            print(
                f"servers up in {time.monotonic() - t0:.1f} s (empty :{servers['empty'].port}, "
                f"real :{servers['real'].port}, {upserted} profiles upserted)",
                file=sys.stderr,
            )
            for name, server in servers.items():
                channels[name] = grpc.insecure_channel(server.target)
                warm = phases(args.concurrency)[-1]
                measure(server, channels[name], warm, args.warmup, args.seed, args.profiles)
            for round_no in range(args.rounds):
                order = ("empty", "real") if round_no % 2 == 0 else ("real", "empty")
                for phase in plan:
                    for name in order:
                        seed = args.seed + round_no
                        summary, hists = measure(
                            servers[name], channels[name], phase, args.duration, seed, args.profiles
                        )
                        runs[phase.name][name].append(summary)
                        if phase.concurrency == 1:
                            for rpc, hist in hists.items():
                                seq_hists[name].setdefault(rpc, load.new_histogram()).add(hist)
                for name in order:
                    calls[name].append(
                        live_call(servers[name], channels[name], args.call, f"{round_no}")
                    )
                print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            for channel in channels.values():
                channel.close()
            for server in servers.values():
                server.stop()
    analysis = analyse(runs, plan)
    analysis["live_call"] = analyse_call(calls)
    meta = {
        "rounds": args.rounds,
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "threads": threads,
        "profiles": args.profiles,
        "workers": args.workers,
        "call": args.call,
        "seed": args.seed,
        "cpus": os.cpu_count(),
        "elapsed_s": round(time.monotonic() - t0, 1),
    }
    text = report(analysis, meta)
    (out / "load_compare.md").write_text(text, encoding="utf-8")
    (out / "load_compare.json").write_text(
        json.dumps({"meta": meta, **analysis, "runs": runs}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    plot(seq_hists, out / "load_compare.png")
    print(text)
    print(f"wrote {out / 'load_compare.md'}, .json, .png in {meta['elapsed_s']} s", file=sys.stderr)
    if args.strict and any(b["status"] == "NOT met" for b in analysis["budgets"]):
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default="bench/out", help="output directory")
    parser.add_argument(
        "--duration", type=float, help="seconds per phase and server (default 5, quick 1.5)"
    )
    parser.add_argument(
        "--rounds", type=int, help="repetitions, medians reported (default 5, quick 3)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="closed-loop workers")
    parser.add_argument("--profiles", type=int, default=5000, help="customers in the store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--call", type=int, default=2000, help="utterances of the pipelined live call per round"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="server processes of the real server (default 0: the server's default, one per "
        "core plus the trigger owner; 1: one process)",
    )
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is not met")
    args = parser.parse_args(argv)
    args.duration = args.duration or (1.5 if args.quick else 5.0)
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.warmup = 1.0 if args.quick else 3.0
    if args.profiles < DEMO_CUSTOMERS:
        parser.error(f"--profiles: at least {DEMO_CUSTOMERS} (the demo customers)")
    try:
        return run(args)
    except RuntimeError as exc:
        print(f"RuntimeError: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
