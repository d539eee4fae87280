"""Prometheus metrics and the HTTP /metrics and /healthz endpoint, one registry per server."""

from __future__ import annotations

import logging
import socket
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import accumulate
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from clients.pb import voc_pb2

log = logging.getLogger(__name__)

# gRPC handling times here run from ~100 us (a card) to seconds (a slow store); streams longer
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
)  # fmt: skip
_OK, _CANCELLED, _UNKNOWN = grpc.StatusCode.OK, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN
_ACTIVE: weakref.WeakSet[ServerMetrics] = weakref.WeakSet()


def trigger_fired(level: str, kind: str) -> None:
    """Counts one fired trigger (level P0/P1/P2, kind AGENT_REPORTS/WEAK_SIGNAL/...).

    Counted in every server of this process: one in production, several only in tests.
    """
    for metrics in list(_ACTIVE):
        metrics.triggers_fired.labels(level, kind).inc()


class _RpcStat:
    """Counts and a latency histogram of one (method, code): one uncontended lock per call.

    prometheus_client's Histogram costs about 2 us per observation (a lock per bucket and a
    linear bucket search); this costs a bisect and one lock.
    """

    __slots__ = ("lock", "buckets", "total")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        i = bisect_left(LATENCY_BUCKETS, seconds)
        with self.lock:
            self.buckets[i] += 1
            self.total += seconds

    def snapshot(self) -> tuple[list[int], float]:
        with self.lock:
            return list(self.buckets), self.total


class MetricsInterceptor(Collector):
    """Counts and times every RPC by service, method and status code; exports them at scrape.

    The (method, code) entry is looked up once and cached, so a call costs two clock reads, a
    dict lookup and one `_RpcStat.observe`.
    """

    _LABELS = ("grpc_service", "grpc_method", "grpc_code")

    def __init__(self) -> None:
        self._stats: dict[tuple[str, grpc.StatusCode], _RpcStat] = {}
        self._new_lock = threading.Lock()

    def _record(self, method: str, code: grpc.StatusCode, started: float) -> None:
        elapsed = time.perf_counter() - started
        stat = self._stats.get((method, code))
        if stat is None:
            with self._new_lock:
                stat = self._stats.setdefault((method, code), _RpcStat())
        stat.observe(elapsed)

    def collect(self) -> Iterator[Metric]:
        handled = CounterMetricFamily(
            "vocscore_grpc_server_handled",
            "RPCs completed, by method and status code.",
            labels=self._LABELS,
        )
        seconds = HistogramMetricFamily(
            "vocscore_grpc_server_handling_seconds",
            "Time from the handler's start to its status, by method and status code.",
            labels=self._LABELS,
        )
        bounds = [*(repr(b) for b in LATENCY_BUCKETS), "+Inf"]
        for (method, code), stat in list(self._stats.items()):
            service, _, name = method[1:].rpartition("/")
            labels = [service, name, code.name]
            counts, total = stat.snapshot()
            cumulative = list(accumulate(counts))
            handled.add_metric(labels, cumulative[-1])
            seconds.add_metric(labels, list(zip(bounds, cumulative, strict=True)), total)
        yield handled
        yield seconds

    def wrap_method(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """Counts and times every call of one method (applied once, at registration)."""
        if handler.unary_unary:
            return handler._replace(unary_unary=self._unary(handler.unary_unary, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._unary(handler.stream_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=self._stream(handler.unary_stream, method))
        if handler.stream_stream:
            return handler._replace(stream_stream=self._stream(handler.stream_stream, method))
        return handler

    def _unary(self, behavior: Callable, method: str) -> Callable:
        record = self._record

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                response = behavior(request, context)
            except BaseException as exc:
                code = context.code()
                if code is None:
                    code = _CANCELLED if isinstance(exc, grpc.RpcError) else _UNKNOWN
                record(method, code, started)
                raise
            record(method, context.code() or _OK, started)
            return response

        return call

    def _stream(self, behavior: Callable, method: str) -> Callable:
        record = self._record

        def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            code = None
            try:
                yield from behavior(request, context)
            except GeneratorExit:
                code = _CANCELLED  # the server stopped iterating: the client went away
                raise
            except BaseException as exc:
                code = context.code()
                if code is None:
                    code = _CANCELLED if isinstance(exc, grpc.RpcError) else _UNKNOWN
                raise
            finally:
                record(method, code or context.code() or _OK, started)

        return call


class _ServiceCollector(Collector):
    """Store, lexicon and live-interaction gauges, read at scrape time; open streams from the
    server's stream admission (server/streams.py), which is the one count of them."""

    def __init__(
        self, service: Any, open_streams: Callable[[], dict[str, int]] | None = None
    ) -> None:
        self._service = service
        self._open_streams = open_streams

    def collect(self) -> Iterator[Metric]:
        svc = self._service
        store = svc.store
        try:
            used, map_size = store.usage()
        except Exception:  # noqa: BLE001 - a scrape during shutdown must not fail the page
            used = map_size = 0
        yield GaugeMetricFamily(
            "vocscore_store_used_bytes", "Bytes in use in the LMDB store.", value=used
        )
        yield GaugeMetricFamily(
            "vocscore_store_map_bytes", "Current LMDB map size (grows on demand).", value=map_size
        )
        yield GaugeMetricFamily(
            "vocscore_store_map_limit_bytes",
            "Map size at which writes fail with RESOURCE_EXHAUSTED ([store] max_map_size_mb).",
            value=store.max_map_bytes,
        )
        yield InfoMetricFamily(
            "vocscore_lexicon",
            "Lexicon version in use.",
            value={"version": svc.engine.current.lexicon.version},
        )
        interactions = svc.interactions
        live = interactions.live_count() if interactions is not None else 0
        streams = self._open_streams().get("live", 0) if self._open_streams else 0
        if live >= 0:  # -1: the cluster's Redis did not answer; the rest is still scraped
            yield GaugeMetricFamily(
                "vocscore_live_interactions",
                "Live interactions in the node's live table (host-wide; cluster-wide on Redis).",
                value=live,
            )
        yield GaugeMetricFamily(
            "vocscore_interaction_streams", "Open StreamInteraction streams.", value=streams
        )


class ServerMetrics:
    """The metrics of one server: its own registry, the RPC interceptor and the gauges."""

    def __init__(
        self, service: Any, open_streams: Callable[[], dict[str, int]] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self.interceptor = MetricsInterceptor()
        self.registry.register(self.interceptor)
        self.triggers_fired = Counter(
            "vocscore_triggers_fired",
            "Triggers fired, by level and kind.",
            ("level", "kind"),
            registry=self.registry,
        )
        for level in voc_pb2.TriggerLevel.keys()[1:]:
            for kind in voc_pb2.TriggerKind.keys()[1:]:
                self.triggers_fired.labels(level, kind)
        self.registry.register(_ServiceCollector(service, open_streams))
        ProcessCollector(registry=self.registry)
        _ACTIVE.add(self)

    def close(self) -> None:
        _ACTIVE.discard(self)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], registry: CollectorRegistry, serving: Callable[[], bool]
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.registry = registry
        self.serving = serving
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "vocscore"
    timeout = 10  # a stuck scraper must not hold a thread forever

    def _reply(self, status: int, body: bytes, content_type: str, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, encoder(self.server.registry), content_type, head)
        elif path in ("/healthz", "/health"):
            serving = self.server.serving()
            body = b"SERVING\n" if serving else b"NOT_SERVING\n"
            self._reply(200 if serving else 503, body, "text/plain; charset=utf-8", head)
        else:
            self._reply(404, b"not found: try /metrics or /healthz\n", "text/plain", head)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._route(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(head=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("metrics http: " + format, *args)


class MetricsHttp:
    """The /metrics and /healthz endpoint in its own thread; `port` is the bound port."""

    def __init__(
        self, listen: str, registry: CollectorRegistry, serving: Callable[[], bool]
    ) -> None:
        host, _, port = listen.rpartition(":")
        self._httpd = _HttpServer((host.strip("[]"), int(port)), registry, serving)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="metrics-http",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
