"""Wires config, store, lexicons, kernels, servicers, health and signals into a running server."""

from __future__ import annotations

import argparse
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import orjson
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

import kernels
from clients.pb import admin_pb2, admin_pb2_grpc, internal_pb2_grpc, voc_pb2, voc_pb2_grpc
from server import records
from server.auth import AuthInterceptor, is_loopback, load_tokens
from server.board import Board, BoardParams
from server.config import Config, ConfigError, load_config
from server.delivery import Delivery, DeliveryParams
from server.engine import Engine
from server.errors import StartupError, VocError
from server.feedback import prune_idempotency
from server.gateway import Gateway, GatewayParams
from server.interactions import Interactions
from server.interceptors import ErrorInterceptor, WrappedRegistration
from server.metrics import MetricsHttp, ServerMetrics
from server.node import RELOAD_SIGNAL, Node
from server.profiles import DAY_MS
from server.service import VocService, wall_ms
from server.servicers import AdminServicer, VocServicer
from server.sla import SlaParams
from server.store import Store
from server.streams import StreamLimits, StreamPools
from server.tls import server_credentials
from server.triggers import TriggerEngine
from server.workers import (
    OwnerServicer,
    RemoteTriggers,
    WorkerVocServicer,
    children_of,
    internal_token,
    run_workers,
)

log = logging.getLogger(__name__)
STREAM_DRAIN_MIN_S = 1.0  # streams and live interactions always get this long after the grace
SERVICE_NAMES = (
    voc_pb2.DESCRIPTOR.services_by_name["Voc"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
)
REFLECTED_FILES = (
    voc_pb2.DESCRIPTOR,
    admin_pb2.DESCRIPTOR,
    health_pb2.DESCRIPTOR,
    reflection_pb2.DESCRIPTOR,
)


def public_descriptor_pool() -> descriptor_pool.DescriptorPool:
    """A pool with the public protos and their imports only: reflection on the default pool
    would describe every imported proto, the internal Owner API included."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: FileDescriptor) -> None:
        if file.name in added:
            return
        for dependency in file.dependencies:
            add(dependency)
        pool.AddSerializedFile(file.serialized_pb)
        added.add(file.name)

    for file in REFLECTED_FILES:
        add(file)
    return pool


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    _RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in self._RESERVED)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def setup_logging(cfg: Config) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if cfg.server.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.server.log_level.upper())


@dataclass
class Running:
    """A started server and what it owns; `stop()` drains and closes everything."""

    server: grpc.Server
    port: int
    cfg: Config
    store: Store
    service: VocService
    health: health.HealthServicer
    node: Node
    stopped: threading.Event = field(default_factory=threading.Event)
    metrics: ServerMetrics | None = None
    metrics_http: MetricsHttp | None = None
    pools: StreamPools | None = None
    delivery: Delivery | None = None
    board: Board | None = None
    gateway: Gateway | None = None
    auth: list[AuthInterceptor] = field(default_factory=list)
    extra_tokens: tuple[Any, ...] = ()

    @property
    def metrics_port(self) -> int:
        """The bound port of /metrics and /healthz; 0 when [metrics] listen is off."""
        return self.metrics_http.port if self.metrics_http is not None else 0

    def serving(self) -> bool:
        """What the gRPC health service answers for the whole server."""
        reply = self.health.Check(health_pb2.HealthCheckRequest(service=""), None)
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, status)

    def reload(self) -> None:
        """SIGHUP: the lexicons, then the tokens of the config file (TLS certificate files are
        re-read by themselves at the next handshake after they change). A failure is logged and
        the current version kept."""
        self.node.follow_reload(force=True)
        if not self.auth or self.cfg.source == "defaults":
            return
        try:
            tokens = load_tokens(load_config(self.cfg.source).auth)
        except ConfigError as exc:
            log.error("config reload failed, keeping the current tokens: %s", exc)
            return
        if not tokens:
            log.error("the config has no [[auth.tokens]] now: keeping the current tokens")
            return
        for interceptor in self.auth:
            interceptor.replace([*tokens, *self.extra_tokens])
        log.info("tokens reloaded: %d", len(tokens))

    def stop(self, grace: float | None = None) -> None:
        if self.stopped.is_set():
            return
        grace = self.cfg.server.grace_s if grace is None else grace
        # one budget for the whole drain: calls in flight, then streams, then live interactions
        deadline = time.monotonic() + grace
        self.health.enter_graceful_shutdown()
        triggers = self.service.triggers
        triggers.end_streams()  # ends trigger streams now rather than after the grace
        self.server.stop(grace).wait()
        if self.pools is not None:
            # cancelled streams still run their `finally` (ending their interactions) on pool
            # threads: let them finish before the store closes
            if not self.pools.drain(max(STREAM_DRAIN_MIN_S, deadline - time.monotonic())):
                log.warning("streams still open after the grace period of %.1f s", grace)
            self.pools.shutdown()
        if self.metrics_http is not None:
            self.metrics_http.stop()  # answered 503 through the grace period; scrapes end here
        if self.metrics is not None:
            self.metrics.close()
        # live interactions are written out in batches; at least a moment even past the grace
        self.service.interactions.stop(max(STREAM_DRAIN_MIN_S, deadline - time.monotonic()))
        # after every call and stream: their trend signals are queued, and delivered here
        triggers.stop(max(STREAM_DRAIN_MIN_S, deadline - time.monotonic()))
        if self.gateway is not None:
            self.gateway.stop()
        if self.board is not None:
            self.board.stop()
        if self.delivery is not None:
            self.delivery.stop()  # a post in flight is retried after the restart
        self.store.close()
        self.stopped.set()
        log.info("server stopped")


def _public_target(cfg: Config, port: int) -> str:
    """Where the gateway reaches the public gRPC port: its host (loopback for a wildcard) and
    `port`, or the configured one (a trigger owner's workers listen there)."""
    host, _, configured = cfg.server.listen.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"{host}:{port or configured}"


def server_options(cfg: Config, *, reuse_port: bool = False) -> list[tuple[str, Any]]:
    limit = cfg.server.max_message_bytes
    return [
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.keepalive_time_ms", int(cfg.server.keepalive_s * 1000)),
        ("grpc.keepalive_timeout_ms", int(cfg.server.keepalive_timeout_s * 1000)),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


def _security(
    cfg: Config, extra_tokens: tuple[Any, ...] = ()
) -> tuple[list[grpc.ServerInterceptor], grpc.ServerCredentials | None]:
    """Auth interceptors and TLS credentials; refuses an open port that anyone could call."""
    try:
        tokens = load_tokens(cfg.auth)
        creds = server_credentials(cfg.tls)
    except ConfigError as exc:
        raise StartupError(str(exc)) from exc
    listen = cfg.server.listen
    if not tokens and not is_loopback(listen) and not cfg.server.insecure:
        raise StartupError(
            f"refusing to serve {listen} without authentication: it is not a loopback address. "
            "Add [[auth.tokens]] to the config (python -m server.auth new), or pass --insecure "
            "([server] insecure = true, VOC_SERVER_INSECURE=1) on a trusted network"
        )
    if not tokens:
        # on loopback this is the local development default; elsewhere --insecure said so
        (log.info if is_loopback(listen) else log.warning)(
            "auth is off: no [[auth.tokens]] configured (listen %s)", listen
        )
    elif creds is None and not is_loopback(listen):
        log.warning("bearer tokens travel in clear text on %s: configure [tls]", listen)
    return ([AuthInterceptor([*tokens, *extra_tokens])] if tokens else []), creds


def build_server(
    cfg: Config,
    *,
    reuse_port: bool = False,
    role: str = "single",
    secret: str = "",
    owner_target: str = "",
    engine: Engine | None = None,
) -> Running:
    """Opens the store, loads lexicons, compiles kernels, binds, starts; returns without blocking.

    `role` is "single" (one process, the default), or with --workers "owner" (holds the trigger
    kernels, serves the internal Owner API on loopback) or "worker" (serves the public port with
    SO_REUSEPORT and forwards trigger calls to the owner at `owner_target`). An `engine` built
    before a fork is shared by the children instead of each loading the lexicons again.
    """
    t0 = time.monotonic()
    extra_tokens = (internal_token(secret),) if role == "owner" else ()
    auth, creds = _security(cfg, extra_tokens)
    checkers = [a for a in auth if isinstance(a, AuthInterceptor)]
    hs = health.HealthServicer(experimental_non_blocking=True)
    try:
        store = Store(
            cfg.store.path,
            map_size_mb=cfg.store.map_size_mb,
            max_readers=cfg.store.max_readers,
            sync=cfg.store.sync,
            max_map_size_mb=cfg.store.max_map_size_mb,
        )
    except VocError as exc:
        raise StartupError(f"{exc} (set [store] path, VOC_STORE_PATH or --store)") from exc
    # the reload counter the lexicons are at least as new as (read before they are loaded): a
    # reload taken while this process starts is followed once serve() handles RELOAD_SIGNAL
    reload_seq = store.counter(records.RELOAD_COUNTER)
    try:
        delivery = DeliveryParams.from_section(cfg.delivery)
        board = BoardParams.from_section(cfg.board)
        sla = SlaParams.from_section(cfg.sla)
        gateway = GatewayParams.from_section(cfg.gateway)
        if gateway.listen and cfg.tls.cert_file:
            raise ConfigError(
                "[gateway] listen: the JSON gateway talks to the gRPC port in plaintext over "
                'loopback; with [tls] on, serve JSON through your TLS proxy and set listen = ""'
            )
    except ConfigError as exc:
        store.close()
        raise StartupError(str(exc)) from exc
    try:
        engine = engine or Engine(cfg)
    except ValueError as exc:
        store.close()
        raise StartupError(f"lexicons: {exc}") from exc
    clock = wall_ms
    triggers: TriggerEngine | RemoteTriggers
    live_table = None  # embedded beside the store, unless the cluster's Redis holds it
    try:
        log.info("kernels ready in %.3f s", kernels.warmup())
        if role == "worker":
            triggers = RemoteTriggers(cfg, store, owner_target, secret if auth else "")
            triggers.wait_for_owner(60.0)
        else:
            triggers = TriggerEngine.open(cfg, store, engine, clock)
        if cfg.cluster:  # redis is imported only for a cluster
            from server.cluster import RedisLiveTable

            live_table = RedisLiveTable.from_config(cfg)
        # one process per node sweeps idle interactions and writes the live ones out at the
        # stop: the only one, or the trigger owner (stopped after every worker)
        interactions = Interactions.from_config(
            cfg,
            store,
            engine,
            clock=clock,
            signals=triggers.observe,
            keeper=role != "worker",
            table=live_table,
        )
    except (ConfigError, VocError) as exc:
        if live_table is not None:
            live_table.close()
        store.close()
        raise StartupError(str(exc)) from exc
    service = VocService(cfg, store, engine, clock, triggers=triggers, interactions=interactions)
    node = Node(store, engine, role, clock, siblings=lambda: children_of(os.getppid()))
    interactions.start()
    # every open stream holds a thread: streams get pools of their own (server/streams.py)
    pools = StreamPools(
        StreamLimits(
            unary_threads=cfg.server.threads,
            live=interactions.limits.max_streams,
            watch=triggers.params.reports.max_watchers,
            idle_s=cfg.server.stream_idle_s,
        )
    )
    metrics = ServerMetrics(service, pools.open_streams)
    server = grpc.server(
        pools.default_pool,
        options=server_options(cfg, reuse_port=reuse_port or role == "worker"),
        maximum_concurrent_rpcs=pools.max_concurrent_rpcs(),
    )
    # metrics outermost (it sees auth refusals), then auth, then stream admission, then domain
    # errors -> status codes; `place` puts each method on its kind's thread pool
    wrappers = [metrics.interceptor.wrap_method, *(a.wrap_method for a in auth)]
    registry = WrappedRegistration(
        server, [*wrappers, pools.wrap_method, ErrorInterceptor().wrap_method], place=pools.place
    )
    if isinstance(triggers, RemoteTriggers):
        servicer: VocServicer = WorkerVocServicer(service, triggers)
    else:
        servicer = VocServicer(service)
    voc_pb2_grpc.add_VocServicer_to_server(servicer, registry)
    if role == "owner":
        internal_pb2_grpc.add_OwnerServicer_to_server(OwnerServicer(service), registry)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(service, node), registry)
    health_pb2_grpc.add_HealthServicer_to_server(hs, registry)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        registry,
        pool=public_descriptor_pool(),
    )
    try:
        if creds is None:
            port = server.add_insecure_port(cfg.server.listen)
        else:
            port = server.add_secure_port(cfg.server.listen, creds)
    except RuntimeError as exc:
        port = 0
        log.debug("bind failed: %s", exc)
    if port == 0 and not cfg.server.listen.endswith(":0"):
        interactions.close()  # the cluster's Redis connections
        store.close()
        raise StartupError(
            f"cannot listen on {cfg.server.listen}: address in use or not available "
            "(set [server] listen, VOC_SERVER_LISTEN or --listen)"
        )
    ops_board = json_gateway = None
    try:
        # the board and the gateway live beside the trigger engine, one of each per node; a port
        # in use costs that page, never the gRPC service
        if board.listen and role != "worker":
            try:
                ops_board = Board(
                    board, sla, service, lambda: checkers[0].tokens if checkers else ()
                )
            except OSError as exc:
                log.error("no ops board: %s (set [board] listen or VOC_BOARD_LISTEN)", exc)
        if gateway.listen and role != "worker":
            target = _public_target(cfg, port if role == "single" else 0)
            try:
                json_gateway = Gateway(gateway, target)
            except OSError as exc:
                log.error("no JSON gateway: %s (set [gateway] listen)", exc)
    except ConfigError as exc:
        server.stop(None)
        if ops_board is not None:
            ops_board.stop()
        interactions.close()  # the cluster's Redis connections
        store.close()
        raise StartupError(f'{exc} (set the listen address, or "" to turn it off)') from exc
    running = Running(
        server,
        port,
        cfg,
        store,
        service,
        hs,
        node,
        metrics=metrics,
        pools=pools,
        auth=checkers,
        extra_tokens=extra_tokens,
    )
    running.set_serving(False)
    if cfg.metrics.listen:
        try:
            running.metrics_http = MetricsHttp(
                cfg.metrics.listen, metrics.registry, running.serving
            )
        except OSError as exc:
            server.stop(None)
            metrics.close()
            interactions.close()  # the cluster's Redis connections
            store.close()
            raise StartupError(
                f"cannot serve metrics on {cfg.metrics.listen}: {exc.strerror or exc} "
                '(set [metrics] listen, VOC_METRICS_LISTEN, or "" to turn it off)'
            ) from exc
    # after every check that can refuse the start-up: a refused start leaves no thread behind
    if role != "worker":  # one process prunes the shared store and delivers triggers
        threading.Thread(target=_prune_loop, args=(running,), name="prune", daemon=True).start()
        if delivery.routes:
            running.delivery = Delivery(delivery, store, sla=sla, registry=metrics.registry).start()
        if ops_board is not None:
            running.board = ops_board.start()
        if json_gateway is not None:
            running.gateway = json_gateway.start()
    server.start()
    node.record(reload_seq)
    running.set_serving(True)
    log.info(
        "serving",
        extra={
            "listen": cfg.server.listen,
            "port": port,
            "lexicon": engine.current.lexicon.version,
            "startup_s": round(time.monotonic() - t0, 3),
        },
    )
    return running


def _prune_loop(running: Running) -> None:
    """Expires idempotency keys past [store] idempotency_days: now, then every hour."""
    cfg = running.cfg.store
    while not running.stopped.is_set():
        try:
            cutoff = running.service.clock() - cfg.idempotency_days * DAY_MS
            removed = prune_idempotency(running.store, cutoff)
            if removed:
                log.info("expired %d idempotency keys", removed)
        except Exception:  # noqa: BLE001 - pruning must never take the server down
            if running.stopped.is_set():
                return
            log.exception("pruning idempotency keys failed")
        running.stopped.wait(3600)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server", description="vocscore gRPC server")
    parser.add_argument(
        "--config", help="TOML config file (default: $VOC_CONFIG or built-in defaults)"
    )
    parser.add_argument("--listen", help="HOST:PORT to listen on (default 127.0.0.1:50051)")
    parser.add_argument("--store", help="LMDB store directory (default ./var/store)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR")
    parser.add_argument("--log-format", choices=("json", "text"))
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --listen without [auth] tokens (trusted networks only)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="server processes on the port (default: [server] workers, 0 = one per core)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="fill an empty store with demo customers before serving"
    )
    return parser.parse_args(argv)


def serve(cfg: Config, banner: Callable[[int], None] | None = None, **role: Any) -> int:
    """Runs one server process until SIGTERM/SIGINT drains it; SIGHUP reloads lexicons and tokens.
    `banner(port)` is called once the port is bound (a worker's, not the owner's)."""
    early_stop = threading.Event()  # a SIGTERM while starting stops the server once it is up
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: early_stop.set())
    try:
        running = build_server(cfg, **role)
    except (StartupError, VocError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if banner is not None and role.get("role") != "owner":
        banner(running.port)

    def on_stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: draining", signal.Signals(signum).name)
        threading.Thread(target=running.stop, name="drain").start()

    def on_reload(signum: int, _frame: Any) -> None:
        threading.Thread(target=running.reload, name="reload").start()

    def on_node_reload(signum: int, _frame: Any) -> None:
        # another process took a reload RPC: follow it, unless this one took it
        follow = functools.partial(running.node.follow_reload, force=False)
        threading.Thread(target=follow, name="reload").start()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_reload)
    signal.signal(RELOAD_SIGNAL, on_node_reload)
    on_node_reload(RELOAD_SIGNAL, None)  # a reload taken while this process started
    if early_stop.is_set():
        on_stop(signal.SIGTERM, None)
    while not running.stopped.wait(0.5):
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    flags: dict[str, dict[str, Any]] = {"server": {}, "store": {}}
    if args.listen:
        flags["server"]["listen"] = args.listen
    if args.log_level:
        flags["server"]["log_level"] = args.log_level
    if args.log_format:
        flags["server"]["log_format"] = args.log_format
    if args.insecure:
        flags["server"]["insecure"] = True
    if args.workers is not None:
        flags["server"]["workers"] = args.workers
    if args.store:
        flags["store"]["path"] = args.store
    try:
        cfg = load_config(args.config, overrides=flags)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        return 2
    setup_logging(cfg)
    if args.demo:
        from server.demo import seed_demo

        try:
            if seed_demo(cfg):
                print(f"demo store created at {cfg.store.path}", file=sys.stderr)
        except (StartupError, VocError) as exc:
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    try:
        _security(cfg)  # refuse a bad security setup here, before any process is forked
    except StartupError as exc:
        print(f"StartupError: {exc}", file=sys.stderr)
        return 1
    workers = cfg.server.workers or os.cpu_count() or 1
    shown = multiprocessing.Value("b", 0)  # shared by the forked workers: the first one prints

    def banner(port: int) -> None:
        with shown.get_lock():
            if shown.value:
                return
            shown.value = 1
        host = cfg.server.listen.rpartition(":")[0]
        listen = f"{host}:{port}"
        target = f"--target {listen} " if listen != "127.0.0.1:50051" else ""
        script = Path(sys.executable).parent / "vocscore"  # the console script beside python
        cmd = os.path.relpath(script) if script.exists() else "vocscore"
        print(
            f"vocscore serving on {listen} with {workers} worker(s) "
            f"(store {cfg.store.path}, Ctrl-C to stop)\n"
            f"  try:  {cmd} {target}card C0001\n"
            f"        {cmd} {target}card C0002 --locale en\n"
            f"        {cmd} {target}dashboard A001",
            file=sys.stderr,
            flush=True,
        )

    if workers == 1:
        return serve(cfg, banner)
    try:
        return run_workers(cfg, workers, functools.partial(serve, banner=banner))
    except StartupError as exc:
        print(f"StartupError: {exc}", file=sys.stderr)
        return 1
