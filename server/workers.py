"""Several server processes on one port: N workers serve every RPC behind SO_REUSEPORT, and one
owner process holds the stateful trigger kernels, so windows and triggers stay exact.

Workers forward ReportIssue, WatchTriggers, AckTrigger and ListTriggers to the owner over a
loopback channel and send it every customer signal for the trend counters in batches, off the
request path (Owner.ObserveBatch). Cards read open incidents from the shared LMDB store,
refreshed at most once a second. Live interactions are in the host's live store, shared by
every process (server/interactions.py), so any worker scores any utterance of a call.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc

from clients.pb import internal_pb2, internal_pb2_grpc, voc_pb2, voc_pb2_grpc
from server.config import Config, TlsConfig
from server.engine import Engine
from server.errors import StartupError, Unavailable
from server.node import RELOAD_SIGNAL
from server.service import VocService
from server.servicers import VocServicer
from server.signals import SignalQueue
from server.trigger_rules import TriggerParams
from server.triggers import IncidentIndex

log = logging.getLogger(__name__)
INTERNAL_TOKEN_ENV = "VOC_INTERNAL_TOKEN"
OBSERVE_BATCH_PATH = "/voc.v1.Owner/ObserveBatch"
_FORWARDED = ("ReportIssue", "WatchTriggers", "AckTrigger", "ListTriggers")
FORWARDED_PATHS = tuple(f"/voc.v1.Voc/{name}" for name in _FORWARDED)
INCIDENTS_TTL_S = 1.0
# a restarted owner is back within seconds: reconnect soon, not after gRPC's default backoff
# (up to two minutes)
OWNER_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


def internal_token_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


# -- worker side -----------------------------------------------------------------------------


class RemoteTriggers:
    """A worker's TriggerSignals: customer signals go to the owner in batches, off the request
    path (server/signals.py); incidents for cards come from the shared store, refreshed at most
    once a second. The trigger RPCs themselves are forwarded whole (WorkerVocServicer)."""

    def __init__(self, cfg: Config, store: Any, target: str, secret: str) -> None:
        self.params = TriggerParams.from_config(cfg)
        self.store = store
        self.channel = grpc.insecure_channel(target, options=OWNER_CHANNEL_OPTIONS)
        self.owner = internal_pb2_grpc.OwnerStub(self.channel)
        self.voc = voc_pb2_grpc.VocStub(self.channel)
        self.metadata = (("authorization", f"Bearer {secret}"),) if secret else None
        self.signals: SignalQueue[internal_pb2.ObserveRequest] = SignalQueue(
            self._send, name="owner-signals"
        )
        self._incidents = IncidentIndex()
        self._fetched = 0.0
        self._lock = threading.Lock()
        self._watches: set[grpc.Call] = set()

    def wait_for_owner(self, deadline_s: float) -> None:
        try:
            grpc.channel_ready_future(self.channel).result(timeout=deadline_s)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"trigger owner not reachable after {deadline_s}s") from None

    def observe(
        self, topics, combos, ts_ms: int, customer_id: str = "", now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Queues the signal; the P1s it fires reach the watchers, not this reply."""
        if topics or combos:
            self.signals.put(
                internal_pb2.ObserveRequest(
                    topics=topics,
                    combos=combos,
                    ts_ms=ts_ms,
                    customer_id=customer_id,
                    now_ms=now_ms or 0,
                )
            )
        return []

    def _send(self, batch: list[internal_pb2.ObserveRequest]) -> None:
        request = internal_pb2.ObserveBatchRequest(signals=batch)
        self.owner.ObserveBatch(request, timeout=5.0, metadata=self.metadata, wait_for_ready=True)

    def incidents_for(self, topics: list[str]) -> list[dict[str, Any]]:
        now = time.monotonic()
        if now - self._fetched > INCIDENTS_TTL_S and self._lock.acquire(blocking=False):
            try:
                triggers = self.store.scan("triggers", reverse=True, limit=2000)
                self._incidents.replace(t for _, t in triggers)
                self._fetched = now
            finally:
                self._lock.release()
        return self._incidents.matching(topics)

    def watching(self, call: grpc.Call) -> None:
        with self._lock:
            self._watches.add(call)

    def unwatch(self, call: grpc.Call) -> None:
        with self._lock:
            self._watches.discard(call)

    def end_streams(self) -> None:
        """Ends the forwarded trigger streams now (their clients reconnect elsewhere)."""
        with self._lock:
            watches, self._watches = list(self._watches), set()
        for call in watches:
            call.cancel()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Delivers the queued signals, then closes the owner channel."""
        if not self.signals.stop(timeout_s):
            log.error("trend signals lost at stop: %d", self.signals.lost)
        self.channel.close()


def _forward_unary(name: str) -> Callable:
    def call(self, request: Any, context: grpc.ServicerContext) -> Any:
        stub_method = getattr(self.remote.voc, name)
        try:
            # while the owner restarts the call waits for it, up to the caller's deadline
            return stub_method(
                request,
                timeout=context.time_remaining(),
                metadata=_caller_auth(context),
                wait_for_ready=True,
            )
        except grpc.RpcError as exc:
            context.abort(exc.code(), exc.details())

    call.__name__ = name
    return call


def _caller_auth(context: grpc.ServicerContext) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in context.invocation_metadata() if k == "authorization")


class WorkerVocServicer(VocServicer):
    """A worker's `voc.v1.Voc`: the trigger RPCs are answered by the owner."""

    def __init__(self, service: VocService, remote: RemoteTriggers) -> None:
        super().__init__(service)
        self.remote = remote

    ReportIssue = _forward_unary("ReportIssue")
    AckTrigger = _forward_unary("AckTrigger")
    ListTriggers = _forward_unary("ListTriggers")

    def WatchTriggers(
        self, request: voc_pb2.WatchRequest, context: grpc.ServicerContext
    ) -> Iterator[voc_pb2.Trigger]:
        upstream = self.remote.voc.WatchTriggers(request, metadata=_caller_auth(context))
        context.add_callback(upstream.cancel)
        self.remote.watching(upstream)
        try:
            yield from upstream
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                context.abort(exc.code(), exc.details())
        finally:
            self.remote.unwatch(upstream)


# -- owner side ------------------------------------------------------------------------------


class OwnerServicer(internal_pb2_grpc.OwnerServicer):
    """Served by the owner process: the workers' signals into the one set of trend counters."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def ObserveBatch(
        self, request: internal_pb2.ObserveBatchRequest, context: grpc.ServicerContext
    ) -> internal_pb2.ObserveBatchReply:
        triggers = self.service.require_triggers()
        fired = 0
        for signal_ in request.signals:
            now = signal_.now_ms or self.service.clock()
            fired += len(
                triggers.observe(
                    list(signal_.topics),
                    list(signal_.combos),
                    signal_.ts_ms or now,
                    signal_.customer_id,
                    now_ms=now,
                )
            )
        return internal_pb2.ObserveBatchReply(counted=len(request.signals), fired=fired)


# -- supervisor ------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (Linux /proc): the workers and owner of a supervisor."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def free_port() -> int:
    """A loopback port nobody listens on right now (for the owner, tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child(run: Callable[[], Any]) -> int:
    """Forks a child that runs `run()` (which blocks until the child's server stopped)."""
    parent = os.getpid()
    # a stop signal must not reach the child while it still has the supervisor's handler (which
    # would only set the supervisor's flag in the child's copy): blocked across the fork, it is
    # delivered once the child has the default action back
    signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, signals | {RELOAD_SIGNAL})
    try:
        pid = os.fork()
    finally:
        if os.getpid() == parent:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    if pid:
        return pid
    code = 1
    try:
        for sig in signals:
            signal.signal(sig, signal.SIG_DFL)
        # a reload passed on while the child still starts is ignored here: the child records
        # the reload counter read before its lexicons (build_server), and serve() follows any
        # newer one once it handles RELOAD_SIGNAL
        signal.signal(RELOAD_SIGNAL, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        _die_with_parent(parent)
        code = run() or 0
    except BaseException:  # noqa: BLE001 - a child never returns into the parent's code
        log.exception("worker process failed")
    finally:
        logging.shutdown()
        os._exit(code)


def _claim(listen: str) -> str:
    """The public address with a real port, checked free: SO_REUSEPORT would otherwise let the
    workers join another server already on the port, and port 0 would give each its own.

    The probe sets SO_REUSEADDR like the gRPC listeners do: connections of a server that just
    stopped linger in TIME_WAIT on the port for a minute and must not block its restart, while a
    server still listening there is refused all the same."""
    host, _, port = listen.rpartition(":")
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), int(port)))
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {listen}: {exc.strerror or exc} "
                "(set [server] listen, VOC_SERVER_LISTEN or --listen)"
            ) from None
        bound = sock.getsockname()[1]
    return f"{host}:{bound}"


def _die_with_parent(parent: int) -> None:
    """A supervisor killed with SIGKILL takes its children along (Linux PR_SET_PDEATHSIG), so no
    orphan keeps the port or the store."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the loaded libc; find_library would fork
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.warning("cannot tie worker lifetime to the supervisor on this platform")
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _metrics_listen(listen: str, offset: int) -> str:
    """Each process gets its own metrics port: PORT+offset (port 0 stays 0)."""
    if not listen:
        return listen
    host, _, port = listen.rpartition(":")
    return f"{host}:{int(port) + offset}" if int(port) else listen


def run_workers(cfg: Config, workers: int, serve: Callable[..., int]) -> int:
    """Forks one owner and `workers` worker processes, then supervises them until a signal,
    starting again any child that dies (see Supervisor).

    `serve(cfg, **role)` builds and runs one server process until it is told to stop; it is
    called in each child after the fork, so no gRPC object or LMDB environment crosses a fork.
    """
    import kernels

    cfg = replace(cfg, server=replace(cfg.server, listen=_claim(cfg.server.listen)))
    kernels.warmup()  # compile into the on-disk cache once, before any child needs it
    # lexicons and automaton are built once here and shared copy-on-write by every child
    engine = Engine(cfg)
    secret = secrets.token_urlsafe(32)
    owner_port = free_port()
    owner_cfg = replace(
        cfg,
        server=replace(cfg.server, listen=f"127.0.0.1:{owner_port}"),
        tls=TlsConfig(),
        metrics=replace(cfg.metrics, listen=_metrics_listen(cfg.metrics.listen, workers)),
    )
    # the owner keeps its port across restarts: the workers' channels reconnect to it
    runs: dict[str, Callable[[], Any]] = {
        "owner": lambda: serve(owner_cfg, role="owner", secret=secret, engine=engine)
    }
    for i in range(workers):
        worker_cfg = replace(
            cfg, metrics=replace(cfg.metrics, listen=_metrics_listen(cfg.metrics.listen, i))
        )
        runs[f"worker-{i}"] = lambda c=worker_cfg: serve(
            c,
            role="worker",
            secret=secret,
            owner_target=f"127.0.0.1:{owner_port}",
            engine=engine,
        )
    supervisor = Supervisor(runs, on_reload=lambda: _reload_quietly(engine))
    supervisor.start_all()
    log.info(
        "supervising %d workers and the trigger owner (pid %d)",
        workers,
        supervisor.pid_of("owner"),
        extra={"pids": sorted(supervisor.children), "owner_port": owner_port},
    )
    return supervisor.run(grace_s=cfg.server.grace_s)


def _reload_quietly(engine: Engine) -> None:
    """The supervisor's copy of the lexicons, which children started from now on inherit."""
    try:
        engine.reload()
    except ValueError as exc:
        log.error("supervisor: lexicon reload failed, keeping the current version: %s", exc)


RESTART_DELAY_S = 0.5  # the first restart of a child; doubles while it keeps dying young
RESTART_DELAY_MAX_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long is restarted after RESTART_DELAY_S again
MAX_YOUNG_DEATHS = 6  # deaths in a row, each before STABLE_AFTER_S: the supervisor gives up


def describe_exit(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class Supervisor:
    """Runs each named child in its own forked process and starts it again when it dies, after
    an exponential backoff, until a signal stops them all (workers first, then the owner).

    A child that keeps dying young (max_young_deaths times in a row, each within stable_after_s
    of its start: a broken config or store, not a crash) makes the supervisor stop everything.
    SIGHUP and RELOAD_SIGNAL are passed on to every child; `on_reload` (the lexicons restarted
    children inherit) runs before the next restart, not at once: the children's reloads have
    the CPUs to themselves.
    """

    def __init__(
        self,
        runs: dict[str, Callable[[], Any]],
        *,
        restart_delay_s: float = RESTART_DELAY_S,
        max_delay_s: float = RESTART_DELAY_MAX_S,
        stable_after_s: float = STABLE_AFTER_S,
        max_young_deaths: int = MAX_YOUNG_DEATHS,
        on_reload: Callable[[], None] = lambda: None,
    ) -> None:
        self.runs = runs
        self.on_reload = on_reload
        self._reload = threading.Event()
        self.restart_delay_s = restart_delay_s
        self.max_delay_s = max_delay_s
        self.stable_after_s = stable_after_s
        self.max_young_deaths = max_young_deaths
        self.children: dict[int, str] = {}
        self._started: dict[str, float] = {}
        self._young_deaths: dict[str, int] = dict.fromkeys(runs, 0)
        self._due: dict[str, float] = {}
        self.stopping = threading.Event()

    def pid_of(self, name: str) -> int:
        return next((pid for pid, n in self.children.items() if n == name), 0)

    def start(self, name: str) -> int:
        pid = _child(self.runs[name])
        self.children[pid] = name
        self._started[name] = time.monotonic()
        return pid

    def start_all(self) -> None:
        for name in self.runs:
            self.start(name)

    def on_signal(self, signum: int, _frame: Any) -> None:
        if signum in (signal.SIGHUP, RELOAD_SIGNAL):
            for pid in list(self.children):
                _signal(pid, signum)
            self._reload.set()
            return
        self.stopping.set()

    def run(self, grace_s: float) -> int:
        """Supervises until SIGTERM/SIGINT (SIGHUP is passed on), then stops the children;
        1 when it gave up on a child or a child did not stop cleanly."""
        previous = {
            sig: signal.signal(sig, self.on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, RELOAD_SIGNAL)
        }
        try:
            return self._supervise(grace_s)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _supervise(self, grace_s: float) -> int:
        failed = False
        while not self.stopping.is_set():
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # every child is waiting for its restart
                pid, status = 0, 0
            if pid and not self._died(pid, status):
                failed = True
                break
            if not pid:
                self._restart_due()
                self.stopping.wait(0.1)
        return int(self._stop_children(grace_s) or failed)

    def _died(self, pid: int, status: int) -> bool:
        """Schedules the restart of a dead child; False when it is time to give up."""
        name = self.children.pop(pid, None)
        if name is None:
            return True
        now = time.monotonic()
        if now - self._started[name] >= self.stable_after_s:
            self._young_deaths[name] = 0
        deaths = self._young_deaths[name]
        if deaths >= self.max_young_deaths:
            log.error(
                "%s (pid %d) %s, the %d-th time in a row soon after its start; stopping the rest",
                name,
                pid,
                describe_exit(status),
                deaths + 1,
            )
            return False
        delay = min(self.restart_delay_s * 2**deaths, self.max_delay_s)
        self._young_deaths[name] = deaths + 1
        self._due[name] = now + delay
        log.error(
            "%s (pid %d) %s; restarting it in %.2f s",
            name,
            pid,
            describe_exit(status),
            delay,
            extra={"child": name, "pid": pid, "restart_in_s": delay},
        )
        return True

    def _restart_due(self) -> None:
        now = time.monotonic()
        for name, when in list(self._due.items()):
            if when <= now and not self.stopping.is_set():
                del self._due[name]
                if self._reload.is_set():
                    self._reload.clear()
                    self.on_reload()
                pid = self.start(name)
                log.warning("%s restarted (pid %d)", name, pid, extra={"child": name, "pid": pid})

    def _stop_children(self, grace_s: float) -> bool:
        """Workers drain first (their forwarded calls need the owner), then the owner; True
        when one had to be killed or did not exit cleanly."""
        failed = False
        children = self.children
        for group in (
            [p for p, n in children.items() if n != "owner"],
            [p for p, n in children.items() if n == "owner"],
        ):
            for pid in group:
                _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s + 10
            for pid in group:
                while time.monotonic() < deadline:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        # a child still starting has no handler yet: SIGTERM ends it as asked
                        code = os.waitstatus_to_exitcode(status)
                        failed |= code not in (0, -signal.SIGTERM)
                        break
                    time.sleep(0.05)
                else:
                    log.error("pid %d did not stop in time: killing it", pid)
                    _signal(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    failed = True
        children.clear()
        print("vocscore: all workers stopped", file=sys.stderr, flush=True)
        return failed


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def internal_token(secret: str) -> Any:
    """The owner's extra token: workers may call Owner.ObserveBatch and the forwarded trigger
    RPCs."""
    from server.auth import Token

    return Token(
        name="internal",
        digest=internal_token_digest(secret),
        roles=("internal",),
        methods=frozenset((OBSERVE_BATCH_PATH, *FORWARDED_PATHS)),
    )
