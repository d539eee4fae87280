"""CTI load simulator: a seeded contact-center mix against a vocscore server, latency in HDR histograms.

Two modes. Open loop issues requests at a fixed arrival rate: each request has an intended start
time on a fixed schedule and its latency is measured from that intended start, so time spent
queued behind a slow server counts (no coordinated omission). Closed loop runs N workers that each
send the next request when the previous one answered: N=1 is the sequential client for p50, a
larger N finds the maximum throughput. Every run is bounded by `--duration` and `--requests`,
talks to loopback targets only unless `--allow-remote`, and writes a markdown summary, a JSON
file (with the encoded histograms) and a PNG percentile plot. Histograms hold successful calls;
failed ones (UNIMPLEMENTED, DEADLINE_EXCEEDED, ...) are counted per RPC by status code.

    python -m clients.load --target 127.0.0.1:50051 --mode open --rate 200 --duration 10
    vocscore bench --mode closed --concurrency 8 --duration 5
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from hdrh.histogram import HdrHistogram

from clients.pb import voc_pb2, voc_pb2_grpc

RPCS = (
    "GetSummaryCard",
    "ScoreUtterance",
    "StreamInteraction",
    "RecordFeedback",
    "GetAgentDashboard",
    "ReportIssue",
)
# Operation kind -> the RPC it calls. card_invalid (an empty customer id, INVALID_ARGUMENT) is off
# by default; it exists to exercise the error path and its accounting.
OP_RPC = {
    "card_known": "GetSummaryCard",
    "card_unknown": "GetSummaryCard",
    "card_invalid": "GetSummaryCard",
    "utterance": "ScoreUtterance",
    "stream": "StreamInteraction",
    "csat": "RecordFeedback",
    "nps": "RecordFeedback",
    "dashboard": "GetAgentDashboard",
    "report": "ReportIssue",
}
# Relative weights of one contact-center minute: screen pops and live utterances dominate.
DEFAULT_MIX = {
    "card_known": 30,
    "card_unknown": 6,
    "card_invalid": 0,
    "utterance": 24,
    "stream": 6,
    "csat": 9,
    "nps": 5,
    "dashboard": 3,
    "report": 5,
}
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
HIST_MAX_US = 60_000_000
HIST_DIGITS = 3
CUSTOMER_FORMAT = "C{:04d}"  # the ids `python -m server --demo` and bench.load create
AGENT_FORMAT = "A{:03d}"
BURST_CHANCE = 0.08  # per report: start a burst of BURST_AGENTS distinct agents on one tag
BURST_AGENTS = 12
UNARY_UTTERANCES_PER_CALL = 5
EXIT_REFUSED = 2

ZH_CUSTOMER = (
    "你好，我想查一下我的订单，快递一周了还没到",
    "你们到底怎么回事！再不解决我就投诉到消费者协会",
    "质量不错但是物流太慢了，等了整整十天才收到",
    "客服态度很好，耐心帮我解决了退款的问题，谢谢",
    "手机用了三天就黑屏了，重启也没用，我要求换货",
    "我昨天付款的时候一直显示支付失败，钱扣了订单却没有生成",
    "包装有点破损，不过里面的商品没有问题",
    "我不是很满意这次的服务，等了四十分钟才有人接电话",
    "APP一直闪退，登录不上去，已经卸载重装好几次了",
    "退款申请提交一个星期了还没有到账，请尽快处理",
    "谢谢，问题已经解决了，非常感谢你的耐心",
    "这个价格比别家贵了不少，而且赠品也没有送",
    "快递员态度很差，直接把包裹扔在门口也不打电话",
    "我担心会员费下个月还会自动扣，能不能帮我取消",
    "衣服尺码偏小，颜色和图片也不一样，我想退货",
    "你们的售后太让人失望了，每次都说会回电话，结果没人打",
    "新买的耳机左边没有声音，是不是质量有问题",
    "发票一直没有开出来，公司报销要用，麻烦快一点",
    "这次体验非常好，下单第二天就到了，会推荐给朋友",
    "说好的七天无理由退货，现在又说不符合条件，这不是欺骗消费者吗",
)
EN_CUSTOMER = (
    "Hi, I'm calling about my order, it still hasn't arrived after a week",
    "This is ridiculous, I've been waiting forty minutes to talk to someone",
    "The quality is great but the delivery was really slow",
    "Your agent was very patient and sorted out my refund, thank you",
    "My phone went to a black screen after three days and won't restart",
    "The payment failed twice but the money was taken from my card",
    "The box was damaged but the product itself is fine",
    "I'm not happy at all, nobody called me back like you promised",
    "The app keeps crashing and I can't log in anymore",
    "I asked for a refund a week ago and still haven't received it",
    "Thanks, that solves it, I really appreciate your help",
    "It's much more expensive than other shops and the gift was missing",
    "The courier just threw the parcel at my door without calling",
    "I'm worried the membership fee will be charged again next month",
    "The shirt is too small and the colour is different from the picture",
    "I'm extremely angry, this is the third time I'm calling about this",
    "My new headphones have no sound on the left side",
    "I still haven't got my invoice and I need it for expenses",
    "Great experience, it arrived the next day, I'll recommend you",
    "If this isn't fixed today I'm cancelling my account",
)
AGENT_LINES = (
    "您好，这里是客服中心，请问有什么可以帮您？",
    "非常抱歉给您带来不便，我马上为您查询",
    "Thank you for waiting, let me check that for you",
    "I'm sorry about the delay, I'll escalate this right away",
)
REPORT_TAGS = (
    "支付失败",
    "payment failed",
    "app crash",
    "登录失败",
    "logistics delay",
    "退款未到账",
)


class RefusedTarget(ValueError):
    """The target is not a loopback address and `--allow-remote` was not given."""


def check_target(target: str, allow_remote: bool = False) -> str:
    """Returns the target when it is on this machine (loopback or a unix socket), else raises."""
    if allow_remote:
        return target
    if target.startswith(("unix:", "unix-abstract:")):
        return target
    hostport = target.removeprefix("dns:///").removeprefix("ipv4:").removeprefix("ipv6:")
    if hostport.startswith("["):
        host = hostport[1:].partition("]")[0]
    else:
        host = hostport.rpartition(":")[0] if ":" in hostport else hostport
    if host.lower() == "localhost":
        return target
    try:
        if ipaddress.ip_address(host).is_loopback:
            return target
    except ValueError:
        pass
    raise RefusedTarget(
        f"{target}: not a loopback address; a load test against another machine needs "
        "--allow-remote"
    )


def new_histogram() -> HdrHistogram:
    """Microseconds from 1 us to 60 s, 3 significant digits."""
    return HdrHistogram(1, HIST_MAX_US, HIST_DIGITS)


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (all threads) from /proc; None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the workload ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Op:
    """One request to send: the operation kind, its RPC and how to send it on a stub."""

    kind: str
    rpc: str
    send: Callable[[voc_pb2_grpc.VocStub, float], None]


def parse_mix(text: str) -> dict[str, int]:
    """'card_known=30,utterance=10' -> weights; kinds not named get weight 0."""
    mix = dict.fromkeys(OP_RPC, 0)
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, weight = item.partition("=")
        if kind not in OP_RPC or not sep or not weight.strip().isdigit():
            raise ValueError(
                f"--mix: expected KIND=WEIGHT with KIND in {', '.join(OP_RPC)}, got {item!r}"
            )
        mix[kind] = int(weight)
    if not any(mix.values()):
        raise ValueError("--mix: at least one weight must be positive")
    return mix


class Workload:
    """A seeded, thread-safe stream of contact-center requests; ids are unique per run."""

    def __init__(
        self,
        seed: int = 1,
        mix: Mapping[str, int] | None = None,
        *,
        customers: int = 3000,
        agents: int = 200,
        run_id: str | None = None,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        weights = dict(mix or DEFAULT_MIX)
        self.kinds = [k for k, w in weights.items() if w > 0]
        self.weights = [weights[k] for k in self.kinds]
        self.customers = customers
        self.agents = agents
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.seq = 0
        self.burst: list[voc_pb2.IssueReport] = []
        self.unary_call = 0
        self.lock = threading.Lock()

    def next(self) -> Op:
        with self.lock:
            self.seq += 1
            if self.burst:
                return self._report_op(self.burst.pop())
            kind = self.rng.choices(self.kinds, self.weights)[0]
            return getattr(self, f"_{kind}")()

    # Builders below run under the lock and draw only from self.rng, so a seed fixes the shape.

    def _customer(self) -> str:
        return CUSTOMER_FORMAT.format(self.rng.randint(1, self.customers))

    def _agent(self) -> str:
        return AGENT_FORMAT.format(self.rng.randint(1, self.agents))

    def _card(self, customer_id: str, kind: str) -> Op:
        request = voc_pb2.CardRequest(customer_id=customer_id, locale=self.rng.choice(("zh", "en")))
        return Op(kind, "GetSummaryCard", lambda stub, t: stub.GetSummaryCard(request, timeout=t))

    def _card_known(self) -> Op:
        return self._card(self._customer(), "card_known")

    def _card_unknown(self) -> Op:
        return self._card(f"U-{self.run_id}-{self.seq}", "card_unknown")

    def _card_invalid(self) -> Op:
        return self._card("", "card_invalid")

    def _utterance_pb(
        self, interaction_id: str, customer_id: str, agent_id: str
    ) -> voc_pb2.Utterance:
        rng = self.rng
        locale = rng.choice(("zh", "en"))
        customer = rng.random() < 0.8
        text = rng.choice(
            (ZH_CUSTOMER if locale == "zh" else EN_CUSTOMER) if customer else AGENT_LINES
        )
        chat = rng.random() < 0.4
        msg = voc_pb2.Utterance(
            interaction_id=interaction_id,
            customer_id=customer_id,
            agent_id=agent_id,
            speaker=voc_pb2.CUSTOMER if customer else voc_pb2.AGENT,
            channel=voc_pb2.CHAT if chat else voc_pb2.VOICE,
            text=text,
            locale=locale,
        )
        if chat:
            msg.typing.chars = len(text)
            msg.typing.elapsed_ms = rng.randint(len(text) * 80, len(text) * 400)
            msg.typing.deletions = rng.randint(0, 6)
        else:
            msg.voice.speech_rate = round(rng.uniform(2.5, 6.5), 2)
            msg.voice.pitch_delta = round(rng.uniform(-2.0, 5.0), 2)
            msg.voice.energy_db = round(rng.uniform(-3.0, 9.0), 2)
        return msg

    def _utterance(self) -> Op:
        # Consecutive unary utterances share an interaction, as the turns of one call would.
        call = self.unary_call // UNARY_UTTERANCES_PER_CALL
        self.unary_call += 1
        caller = random.Random(self.seed * 1_000_003 + call)  # fixed customer and agent per call
        customer = CUSTOMER_FORMAT.format(caller.randint(1, self.customers))
        agent = AGENT_FORMAT.format(caller.randint(1, self.agents))
        request = self._utterance_pb(f"{self.run_id}-call-{call}", customer, agent)
        return Op(
            "utterance", "ScoreUtterance", lambda stub, t: stub.ScoreUtterance(request, timeout=t)
        )

    def _stream(self) -> Op:
        interaction = f"{self.run_id}-stream-{self.seq}"
        customer, agent = self._customer(), self._agent()
        turns = [
            self._utterance_pb(interaction, customer, agent) for _ in range(self.rng.randint(3, 8))
        ]

        def send(stub: voc_pb2_grpc.VocStub, timeout: float) -> None:
            answered = sum(1 for _ in stub.StreamInteraction(iter(turns), timeout=timeout))
            if answered != len(turns):
                raise StreamShort(f"{answered} scores for {len(turns)} utterances")

        return Op("stream", "StreamInteraction", send)

    def _feedback(self, kind: str) -> Op:
        rng = self.rng
        locale = rng.choice(("zh", "en"))
        csat = kind == "csat"
        request = voc_pb2.Feedback(
            feedback_id=f"{self.run_id}-fb-{self.seq}",
            customer_id=self._customer(),
            agent_id=self._agent() if csat else "",
            kind=voc_pb2.Feedback.CSAT if csat else voc_pb2.Feedback.NPS,
            score=rng.randint(1, 5)
            if csat
            else rng.choices(range(11), (3, 2, 2, 3, 3, 4, 6, 12, 18, 22, 25))[0],
            text=rng.choice(ZH_CUSTOMER if locale == "zh" else EN_CUSTOMER)
            if rng.random() < 0.6
            else "",
            channel=voc_pb2.SURVEY,
            locale=locale,
        )
        return Op(kind, "RecordFeedback", lambda stub, t: stub.RecordFeedback(request, timeout=t))

    def _csat(self) -> Op:
        return self._feedback("csat")

    def _nps(self) -> Op:
        return self._feedback("nps")

    def _dashboard(self) -> Op:
        request = voc_pb2.AgentRequest(agent_id=self._agent(), comments_limit=10)
        return Op(
            "dashboard",
            "GetAgentDashboard",
            lambda stub, t: stub.GetAgentDashboard(request, timeout=t),
        )

    def _report_op(self, request: voc_pb2.IssueReport) -> Op:
        return Op("report", "ReportIssue", lambda stub, t: stub.ReportIssue(request, timeout=t))

    def _report(self) -> Op:
        rng = self.rng
        tag = rng.choice(REPORT_TAGS)
        if rng.random() < BURST_CHANCE:
            # An outage: many distinct agents click the same tag within seconds; the burst goes
            # out as the next BURST_AGENTS requests.
            agents = rng.sample(range(1, self.agents + 1), min(BURST_AGENTS, self.agents))
            self.burst = [
                voc_pb2.IssueReport(
                    report_id=f"{self.run_id}-rp-{self.seq}-{i}",
                    agent_id=AGENT_FORMAT.format(a),
                    tag=tag,
                    customer_id=self._customer(),
                    note="burst",
                )
                for i, a in enumerate(agents)
            ]
            return self._report_op(self.burst.pop())
        request = voc_pb2.IssueReport(
            report_id=f"{self.run_id}-rp-{self.seq}",
            agent_id=self._agent(),
            tag=tag,
            customer_id=self._customer(),
        )
        return self._report_op(request)


class StreamShort(Exception):
    """A stream answered fewer scores than utterances sent."""


# -- recording ---------------------------------------------------------------------------


@dataclass
class Recorder:
    """Per-RPC histograms of successful calls and error counts by status code; thread-safe."""

    hist: dict[str, HdrHistogram] = field(default_factory=dict)
    errors: dict[str, Counter[str]] = field(default_factory=dict)
    ops: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_ns: int = 0

    def record(self, op: Op, latency_us: int, code: str, done_ns: int) -> None:
        with self.lock:
            self.ops[op.kind] += 1
            self.last_ns = max(self.last_ns, done_ns)
            if op.rpc not in self.hist:
                self.hist[op.rpc] = new_histogram()
                self.errors[op.rpc] = Counter()
            if code == "OK":
                self.hist[op.rpc].record_value(min(max(latency_us, 1), HIST_MAX_US))
            else:
                self.errors[op.rpc][code] += 1


def issue(stub: voc_pb2_grpc.VocStub, op: Op, start_ns: int, timeout: float, rec: Recorder) -> None:
    """Sends one request; latency runs from start_ns (the intended start in open loop)."""
    try:
        op.send(stub, timeout)
        code = "OK"
    except grpc.RpcError as exc:
        code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
    except StreamShort:
        code = "STREAM_SHORT"
    except Exception as exc:  # noqa: BLE001 - a client-side bug is counted, not fatal to the run
        code = f"CLIENT_{type(exc).__name__}"
    done = time.perf_counter_ns()
    rec.record(op, (done - start_ns) // 1000, code, done)


# -- the two modes -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadConfig:
    target: str = "127.0.0.1:50051"
    mode: str = "open"  # open | closed
    rate: float = 100.0  # open loop: arrivals per second
    concurrency: int = 16  # open loop: pool threads; closed loop: workers
    duration_s: float = 10.0
    requests: int = 100_000
    warmup_s: float = 0.0
    timeout_s: float = 5.0
    seed: int = 1
    mix: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_MIX))
    customers: int = 3000
    agents: int = 200
    server_pid: int | None = None
    run_id: str | None = None


@dataclass
class LoadResult:
    cfg: LoadConfig
    rec: Recorder
    elapsed_s: float
    not_sent: int
    run_id: str
    server_cpu_s: float | None
    client_cpu_s: float

    @property
    def calls(self) -> int:
        return sum(self.rec.ops.values())


def run_open(
    stub: voc_pb2_grpc.VocStub,
    work: Workload,
    cfg: LoadConfig,
    rec: Recorder,
    duration_s: float,
    limit: int,
) -> tuple[float, int]:
    """Fixed-rate arrivals handed to a bounded pool; returns (elapsed s, requests never started)."""
    interval_ns = 1e9 / cfg.rate
    pool = ThreadPoolExecutor(cfg.concurrency, thread_name_prefix="load")
    pending = []
    start = time.perf_counter_ns()
    end = start + int(duration_s * 1e9)
    try:
        for i in range(limit):
            intended = start + int(i * interval_ns)
            if intended >= end:
                break
            delay = intended - time.perf_counter_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            # Queue time inside the pool counts: latency is measured from `intended`.
            pending.append(pool.submit(issue, stub, work.next(), intended, cfg.timeout_s, rec))
        # Everything sent has a deadline; whatever has not started after one more deadline is
        # dropped and reported, so the run always ends.
        wait(pending, timeout=max(0.0, (end - time.perf_counter_ns()) / 1e9) + cfg.timeout_s + 1.0)
        not_sent = sum(1 for f in pending if f.cancel())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    elapsed = ((rec.last_ns or time.perf_counter_ns()) - start) / 1e9
    return max(elapsed, 1e-9), not_sent


def run_closed(
    stub: voc_pb2_grpc.VocStub,
    work: Workload,
    cfg: LoadConfig,
    rec: Recorder,
    duration_s: float,
    limit: int,
) -> tuple[float, int]:
    """N workers, each sending its next request when the previous one answered."""
    budget = iter(range(limit))
    budget_lock = threading.Lock()
    start = time.perf_counter_ns()
    end = start + int(duration_s * 1e9)

    def worker() -> None:
        while time.perf_counter_ns() < end:
            with budget_lock:
                if next(budget, None) is None:
                    return
            op = work.next()
            issue(stub, op, time.perf_counter_ns(), cfg.timeout_s, rec)

    threads = [
        threading.Thread(target=worker, name=f"load-{i}", daemon=True)
        for i in range(cfg.concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return max((time.perf_counter_ns() - start) / 1e9, 1e-9), 0


def run_load(cfg: LoadConfig, channel: grpc.Channel | None = None) -> LoadResult:
    """Runs one bounded load test; the caller checks the target first (see check_target)."""
    if cfg.mode not in ("open", "closed"):
        raise ValueError(f"mode: expected open or closed, got {cfg.mode!r}")
    if cfg.mode == "open" and cfg.rate <= 0:
        raise ValueError("rate: must be positive")
    if cfg.concurrency < 1 or cfg.duration_s <= 0 or cfg.requests < 1:
        raise ValueError("concurrency, duration and requests: must be positive")
    own = channel is None
    if channel is None:
        channel = grpc.insecure_channel(cfg.target)
    try:
        grpc.channel_ready_future(channel).result(timeout=cfg.timeout_s)
        stub = voc_pb2_grpc.VocStub(channel)
        work = Workload(
            cfg.seed, cfg.mix, customers=cfg.customers, agents=cfg.agents, run_id=cfg.run_id
        )
        runner = run_open if cfg.mode == "open" else run_closed
        if cfg.warmup_s > 0:
            runner(stub, work, cfg, Recorder(), cfg.warmup_s, cfg.requests)
        rec = Recorder()
        cpu0 = proc_cpu_s(cfg.server_pid) if cfg.server_pid else None
        own0 = time.process_time()
        elapsed, not_sent = runner(stub, work, cfg, rec, cfg.duration_s, cfg.requests)
        own_cpu = time.process_time() - own0
        cpu1 = proc_cpu_s(cfg.server_pid) if cfg.server_pid else None
    finally:
        if own:
            channel.close()
    server_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return LoadResult(cfg, rec, elapsed, not_sent, work.run_id, server_cpu, own_cpu)


# -- reports -----------------------------------------------------------------------------


def latency_summary(hist: HdrHistogram) -> dict[str, float]:
    if not hist.get_total_count():
        return {}
    out = {"min": hist.get_min_value(), "mean": round(hist.get_mean_value(), 1)}
    for p in PERCENTILES:
        out[f"p{p:g}"] = hist.get_value_at_percentile(p)
    out["max"] = hist.get_max_value()
    return out


def result_dict(result: LoadResult) -> dict[str, Any]:
    cfg, rec = result.cfg, result.rec
    rpcs: dict[str, Any] = {}
    for rpc in sorted(rec.hist, key=lambda r: RPCS.index(r) if r in RPCS else len(RPCS)):
        hist, errors = rec.hist[rpc], rec.errors[rpc]
        ok = hist.get_total_count()
        rpcs[rpc] = {
            "calls": ok + sum(errors.values()),
            "ok": ok,
            "errors": dict(sorted(errors.items())),
            "ok_per_s": round(ok / result.elapsed_s, 1),
            "latency_us": latency_summary(hist),
            "hdr": hist.encode().decode("ascii") if ok else "",
        }
    errors_total: Counter[str] = Counter()
    for counter in rec.errors.values():
        errors_total.update(counter)
    calls = result.calls
    out: dict[str, Any] = {
        "tool": "clients.load",
        "target": cfg.target,
        "mode": cfg.mode,
        "rate": cfg.rate if cfg.mode == "open" else None,
        "concurrency": cfg.concurrency,
        "duration_s": cfg.duration_s,
        "requests_limit": cfg.requests,
        "timeout_s": cfg.timeout_s,
        "seed": cfg.seed,
        "run_id": result.run_id,
        "mix": {k: v for k, v in cfg.mix.items() if v},
        "elapsed_s": round(result.elapsed_s, 3),
        "calls": calls,
        "ok": sum(h.get_total_count() for h in rec.hist.values()),
        "calls_per_s": round(calls / result.elapsed_s, 1),
        "not_sent": result.not_sent,
        "errors": dict(sorted(errors_total.items())),
        "ops": dict(sorted(rec.ops.items())),
        "client_cpu_us_per_call": round(result.client_cpu_s * 1e6 / calls, 1) if calls else None,
        "server_cpu_us_per_call": (
            round(result.server_cpu_s * 1e6 / calls, 1)
            if calls and result.server_cpu_s is not None
            else None
        ),
        "latency_unit": "us",
        "rpcs": rpcs,
    }
    return out


def markdown(summary: Mapping[str, Any], title: str | None = None) -> str:
    if summary["mode"] == "open":
        shape = f"open loop, {summary['rate']:g} arrivals/s, {summary['concurrency']} pool threads"
    else:
        shape = f"closed loop, {summary['concurrency']} worker(s)"
    lines = [
        f"## {title or 'Load'}: {shape}, {summary['target']}",
        "",
        f"seed {summary['seed']}, run {summary['run_id']}: {summary['calls']} calls in "
        f"{summary['elapsed_s']:.2f} s ({summary['calls_per_s']:.1f}/s), "
        f"{summary['not_sent']} not sent; latency in microseconds"
        + (" from the intended start" if summary["mode"] == "open" else ""),
        "",
        "| RPC | calls | ok | errors | ok/s | p50 | p90 | p99 | p99.9 | max |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rpc, r in summary["rpcs"].items():
        lat = r["latency_us"]
        cells = [f"{lat[k]:,}" if k in lat else "-" for k in ("p50", "p90", "p99", "p99.9", "max")]
        errs = ", ".join(f"{c} {n}" for c, n in r["errors"].items()) or "-"
        lines.append(
            f"| {rpc} | {r['calls']} | {r['ok']} | {errs} | {r['ok_per_s']:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    cpu = summary.get("server_cpu_us_per_call")
    lines += [
        "",
        f"errors by code: {', '.join(f'{c} {n}' for c, n in summary['errors'].items()) or 'none'}; "
        f"client CPU {summary['client_cpu_us_per_call']} us/call"
        + (f"; server CPU {cpu} us/call" if cpu is not None else ""),
    ]
    return "\n".join(lines) + "\n"


PERCENTILE_TICKS = (
    (1, "0%"),
    (2, "50%"),
    (10, "90%"),
    (100, "99%"),
    (1e3, "99.9%"),
    (1e4, "99.99%"),
    (1e5, "99.999%"),
)


def plot_percentiles(
    curves: Mapping[str, HdrHistogram],
    path: Path,
    title: str,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Latency by percentile, one line per curve; x is 1/(1-p) on a log axis (the HDR view).

    `styles` maps a curve label to extra matplotlib line properties (color, linestyle).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig = Figure(figsize=(10, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x_max = 2.0
    for label, hist in curves.items():
        count = hist.get_total_count()
        if not count:
            continue
        xs, ys = [], []
        for step in hist.get_percentile_iterator(5):
            level = step.percentile_level_iterated_to
            if level >= 100.0:
                break
            xs.append(1.0 / (1.0 - level / 100.0))
            ys.append(step.value_iterated_to / 1000.0)
        # The maximum sits at the percentile one sample resolves.
        xs.append(max(count, xs[-1] if xs else 1.0))
        ys.append(hist.get_max_value() / 1000.0)
        x_max = max(x_max, xs[-1])
        style = {"linewidth": 1.6, **(styles or {}).get(label, {})}
        ax.plot(xs, ys, label=f"{label} (n={count:,})", **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [(x, name) for x, name in PERCENTILE_TICKS if x <= x_max * 1.01]
    ax.set_xticks([x for x, _ in ticks], [name for _, name in ticks])
    ax.set_xlim(1, x_max * 1.1)
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_lines():
        ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


def write_outputs(result: LoadResult, out: Path, name: str = "load") -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    summary = result_dict(result)
    paths = {"json": out / f"{name}.json", "md": out / f"{name}.md", "png": out / f"{name}.png"}
    paths["json"].write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    text = markdown(summary)
    paths["md"].write_text(
        text + f"\n![latency by percentile]({paths['png'].name})\n", encoding="utf-8"
    )
    plot_percentiles(
        {rpc: result.rec.hist[rpc] for rpc in summary["rpcs"]},
        paths["png"],
        f"vocscore latency by percentile ({summary['mode']} loop, {summary['target']})",
    )
    return paths


# -- command line ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m clients.load", description="CTI load simulator for a vocscore server"
    )
    p.add_argument(
        "--target",
        default=os.environ.get("VOC_TARGET", "127.0.0.1:50051"),
        help="server HOST:PORT (loopback only unless --allow-remote)",
    )
    p.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not on this machine"
    )
    p.add_argument(
        "--mode",
        choices=("open", "closed"),
        default="open",
        help="open: fixed arrival rate; closed: N workers back to back",
    )
    p.add_argument("--rate", type=float, default=100.0, help="open loop: arrivals per second")
    p.add_argument(
        "--concurrency", type=int, default=16, help="open loop: pool threads; closed loop: workers"
    )
    p.add_argument(
        "--duration", type=float, default=10.0, help="seconds of measured load (upper bound)"
    )
    p.add_argument("--requests", type=int, default=100_000, help="requests at most (upper bound)")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds of unmeasured load first")
    p.add_argument("--timeout", type=float, default=5.0, help="deadline per call, seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--mix", help=f"KIND=WEIGHT,... over {', '.join(OP_RPC)} (default: a contact-center mix)"
    )
    p.add_argument(
        "--customers",
        type=int,
        default=3000,
        help=f"known customers are {CUSTOMER_FORMAT.format(1)}..",
    )
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--server-pid", type=int, help="local server process: report its CPU per call")
    p.add_argument(
        "--out", default="bench/out/load", help="directory for NAME.md, NAME.json, NAME.png"
    )
    p.add_argument("--name", default="load", help="file name stem of the outputs")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_target(args.target, args.allow_remote)
        cfg = LoadConfig(
            target=args.target,
            mode=args.mode,
            rate=args.rate,
            concurrency=args.concurrency,
            duration_s=args.duration,
            requests=args.requests,
            warmup_s=args.warmup,
            timeout_s=args.timeout,
            seed=args.seed,
            mix=parse_mix(args.mix) if args.mix else dict(DEFAULT_MIX),
            customers=args.customers,
            agents=args.agents,
            server_pid=args.server_pid,
        )
        result = run_load(cfg)
    except RefusedTarget as exc:
        print(f"RefusedTarget: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except grpc.FutureTimeoutError:
        print(
            f"ConnectionError: {args.target} not reachable within {args.timeout}s", file=sys.stderr
        )
        return 1
    except ValueError as exc:
        print(f"ValueError: {exc}", file=sys.stderr)
        return 1
    paths = write_outputs(result, Path(args.out), args.name)
    sys.stdout.write(paths["md"].read_text(encoding="utf-8"))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
