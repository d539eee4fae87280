"""Wires config, store, lexicons, kernels, servicers, health and signals into a running server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import orjson
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from clients.pb import admin_pb2, admin_pb2_grpc, voc_pb2, voc_pb2_grpc
from server.config import Config, ConfigError, load_config
from server.engine import Engine
from server.errors import VocError
from server.interceptors import ErrorInterceptor
from server.service import VocService
from server.servicers import AdminServicer, VocServicer
from server.store import Store

log = logging.getLogger(__name__)
SERVICE_NAMES = (
    voc_pb2.DESCRIPTOR.services_by_name["Voc"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
)


class StartupError(Exception):
    """The server cannot start; the message says why and what to change."""


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
    stopped: threading.Event = field(default_factory=threading.Event)

    def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, status)

    def stop(self, grace: float | None = None) -> None:
        if self.stopped.is_set():
            return
        self.health.enter_graceful_shutdown()
        self.server.stop(self.cfg.server.grace_s if grace is None else grace).wait()
        self.store.close()
        self.stopped.set()
        log.info("server stopped")


def server_options(cfg: Config, *, reuse_port: bool = False) -> list[tuple[str, Any]]:
    limit = cfg.server.max_message_bytes
    return [
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


def build_server(cfg: Config, *, reuse_port: bool = False) -> Running:
    """Opens the store, loads lexicons, compiles kernels, binds, starts; returns without blocking."""
    t0 = time.monotonic()
    hs = health.HealthServicer(experimental_non_blocking=True)
    try:
        store = Store(
            cfg.store.path,
            map_size_mb=cfg.store.map_size_mb,
            max_readers=cfg.store.max_readers,
            sync=cfg.store.sync,
        )
    except VocError as exc:
        raise StartupError(f"{exc} (set [store] path, VOC_STORE_PATH or --store)") from exc
    try:
        engine = Engine(cfg)
    except ValueError as exc:
        store.close()
        raise StartupError(f"lexicons: {exc}") from exc
    service = VocService(cfg, store, engine)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=cfg.server.threads, thread_name_prefix="rpc"),
        interceptors=[ErrorInterceptor()],
        options=server_options(cfg, reuse_port=reuse_port),
        maximum_concurrent_rpcs=cfg.server.threads * 64,
    )
    voc_pb2_grpc.add_VocServicer_to_server(VocServicer(service), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(service), server)
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    try:
        port = server.add_insecure_port(cfg.server.listen)
    except RuntimeError as exc:
        port = 0
        log.debug("bind failed: %s", exc)
    if port == 0 and not cfg.server.listen.endswith(":0"):
        store.close()
        raise StartupError(
            f"cannot listen on {cfg.server.listen}: address in use or not available "
            "(set [server] listen, VOC_SERVER_LISTEN or --listen)"
        )
    running = Running(server, port, cfg, store, service, hs)
    running.set_serving(False)
    server.start()
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
        "--demo", action="store_true", help="fill an empty store with demo customers before serving"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    flags: dict[str, dict[str, Any]] = {"server": {}, "store": {}}
    if args.listen:
        flags["server"]["listen"] = args.listen
    if args.log_level:
        flags["server"]["log_level"] = args.log_level
    if args.log_format:
        flags["server"]["log_format"] = args.log_format
    if args.store:
        flags["store"]["path"] = args.store
    try:
        cfg = load_config(args.config, overrides=flags)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        return 2
    setup_logging(cfg)
    try:
        if args.demo:
            from server.demo import seed_demo

            if seed_demo(cfg):
                print(f"demo store created at {cfg.store.path}", file=sys.stderr)
        running = build_server(cfg)
    except (StartupError, VocError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    def on_stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: draining", signal.Signals(signum).name)
        threading.Thread(target=running.stop, name="drain").start()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    target = f"--target {cfg.server.listen} " if cfg.server.listen != "127.0.0.1:50051" else ""
    print(
        f"vocscore serving on {cfg.server.listen} (store {cfg.store.path}, Ctrl-C to stop)\n"
        f"  try:  .venv/bin/vocscore {target}card C0001\n"
        f"        .venv/bin/vocscore {target}card C0002 --locale en\n"
        f"        .venv/bin/vocscore {target}dashboard A001",
        file=sys.stderr,
        flush=True,
    )
    while not running.stopped.wait(0.5):
        pass
    return 0
