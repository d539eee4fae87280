"""Long-lived streams kept apart from unary calls: a thread pool per kind, admission limits, idle cut-off.

grpcio's sync server runs every handler on a pool thread, and a stream holds its thread for as long
as it is open: one shared pool let 50 idle live-call streams starve health checks and cards. Each
kind of method gets its own pool here (grpcio picks it from the handler's `experimental_thread_pool`,
the hook grpcio-health-checking uses for its Watch), so streams can only ever take stream threads:

- ``health``: Health/Check, a few threads no other call can take;
- ``live``: StreamInteraction, up to ``[live] max_streams`` open at once;
- ``watch``: WatchTriggers, up to ``[reports] max_watchers``;
- ``other``: any other streaming method (reflection, UpsertProfiles, Health/Watch), a small bound;
- ``unary``: everything else, ``[server] threads``.

Past its limit a stream is refused at once with RESOURCE_EXHAUSTED, never queued. A stream whose
client sends nothing for ``[server] stream_idle_s`` is ended with DEADLINE_EXCEEDED (a client that
vanished is found sooner by HTTP/2 keepalive, ``[server] keepalive_s``).

A parked stream thread sleeps in a futex. Linux 6.16+ gives each process a private futex hash sized
by its CPUs, not its threads (16 buckets on 2 cores), so 5,500 parked threads made every lock
hand-off walk a chain of ~350 sleepers: the server's CPU per call doubled and p99 rose 3-7x with the
streams (bench/RESULTS.md). `widen_futex_hash` sizes the hash for the threads the limits allow.
"""

from __future__ import annotations

import ctypes
import heapq
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

log = logging.getLogger(__name__)

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
LIVE = "/voc.v1.Voc/StreamInteraction"
WATCH = "/voc.v1.Voc/WatchTriggers"
HEALTH_THREADS = 2
OTHER_STREAMS = 32
_LIMIT_KEYS = {"live": "[live] max_streams", "watch": "[reports] max_watchers"}
# threads kept free in each stream pool beyond its limit, so a refusal never waits for a thread
SLACK = 8
# prctl(2): PR_FUTEX_HASH, its SET_SLOTS and GET_SLOTS operations (linux/prctl.h, Linux 6.16+)
_PR_FUTEX_HASH, _FUTEX_HASH_SET_SLOTS, _FUTEX_HASH_GET_SLOTS = 78, 1, 2


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How many of each kind may be open at once; idle cut-off in seconds (0: none)."""

    unary_threads: int
    live: int
    watch: int
    other: int = OTHER_STREAMS
    idle_s: float = 0.0


class _Kind:
    """One kind of method: its pool, its open count and its limit."""

    def __init__(self, name: str, pool: futures.ThreadPoolExecutor, limit: int | None) -> None:
        self.name = name
        self.pool = pool
        self.limit = limit
        self.open = 0
        self.refused = 0
        self._lock = threading.Condition()

    def admit(self) -> bool:
        with self._lock:
            if self.limit is not None and self.open >= self.limit:
                self.refused += 1
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.open -= 1
            if self.open == 0:
                self._lock.notify_all()

    def wait_closed(self, timeout_s: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self.open == 0, timeout_s)


class _Idle:
    """Ends streams that wait too long for their client's next message.

    One heap entry per open stream, re-armed when it comes due while the stream is busy, so a
    busy stream costs nothing per message beyond two attribute writes.
    """

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Waiting]] = []
        self._seq = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def track(self, context: grpc.ServicerContext, method: str) -> _Waiting:
        entry = _Waiting(context, method)
        with self._cond:
            self._push(time.monotonic() + self.idle_s, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stream-idle", daemon=True)
                self._thread.start()
        return entry

    def _push(self, due: float, entry: _Waiting) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, entry))
        if self._heap[0][2] is entry:
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if not self._heap:
                    self._cond.wait()
                    continue
                due, _seq, entry = self._heap[0]
                now = time.monotonic()
                if due > now:
                    self._cond.wait(min(due - now, 1.0))
                    continue
                heapq.heappop(self._heap)
                if entry.done:
                    continue
                if entry.since is not None and now - entry.since >= self.idle_s:
                    entry.done = True
                    entry.expire(self.idle_s)
                    continue
                since = entry.since if entry.since is not None else now
                self._push(since + self.idle_s, entry)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()


class _Waiting:
    """One stream: `since` is when it began waiting for its client (None while it works)."""

    __slots__ = ("context", "method", "since", "done")

    def __init__(self, context: grpc.ServicerContext, method: str) -> None:
        self.context = context
        self.method = method
        self.since: float | None = None
        self.done = False

    def expire(self, idle_s: float) -> None:
        details = (
            f"{self.method.rsplit('/', 1)[-1]}: no message for {idle_s:g} s "
            "([server] stream_idle_s); the stream is closed, open a new one to go on"
        )
        log.info("closing idle stream %s after %.0f s", self.method, idle_s)
        _cancel(self.context, grpc.StatusCode.DEADLINE_EXCEEDED, details)


def _cancel(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> None:
    """Ends the RPC from another thread with a status the client can read.

    The public `context.cancel()` only says CANCELLED; the call object underneath takes a status.
    """
    call = getattr(getattr(context, "_rpc_event", None), "call", None)
    try:
        call.cancel(code.value[0], details)
    except (AttributeError, TypeError):
        context.cancel()


class StreamPools:
    """Owns the pools of every kind; `wrap_method` admits and times streams, `place` picks the pool."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits

        def pool(name: str, threads: int) -> futures.ThreadPoolExecutor:
            # threads start on demand and stay: a peak of open streams is paid once
            return futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

        self.kinds = {
            "unary": _Kind("unary", pool("rpc", limits.unary_threads), None),
            "health": _Kind("health", pool("health", HEALTH_THREADS), None),
            "live": _Kind("live", pool("live", limits.live + SLACK), limits.live),
            "watch": _Kind("watch", pool("watch", limits.watch + SLACK), limits.watch),
            "other": _Kind("other", pool("stream", limits.other + SLACK), limits.other),
        }
        self._idle = _Idle(limits.idle_s) if limits.idle_s > 0 else None
        self.futex_slots = widen_futex_hash(self.max_threads())

    def max_threads(self) -> int:
        """Threads the pools may hold at once, every stream kind at its limit."""
        return sum(k.pool._max_workers for k in self.kinds.values())

    @property
    def default_pool(self) -> futures.ThreadPoolExecutor:
        """The server's own executor: unary calls, and anything not placed."""
        return self.kinds["unary"].pool

    def max_concurrent_rpcs(self) -> int:
        """grpcio's own bound on calls in flight; past it every call is RESOURCE_EXHAUSTED, so it
        sits above every stream limit plus a deep queue of unary calls."""
        lim = self.limits
        return lim.unary_threads * 64 + lim.live + lim.watch + lim.other + HEALTH_THREADS * 64

    def open_streams(self) -> dict[str, int]:
        return {name: k.open for name, k in self.kinds.items() if k.limit is not None}

    @staticmethod
    def kind_of(method: str, handler: grpc.RpcMethodHandler) -> str:
        if method == HEALTH_CHECK:
            return "health"
        if method == LIVE:
            return "live"
        if method == WATCH:
            return "watch"
        if handler.request_streaming or handler.response_streaming:
            return "other"
        return "unary"

    def wrap_method(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """Admission for stream kinds, and the idle cut-off for streams a client feeds."""
        kind = self.kinds[self.kind_of(method, handler)]
        if kind.limit is None:
            return handler
        idle = self._idle if handler.request_streaming else None
        announce = kind.name == "watch"

        def admitted(behavior: Callable, streaming_out: bool) -> Callable:
            def refuse(context: grpc.ServicerContext) -> None:
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{method.rsplit('/', 1)[-1]}: {kind.limit} streams of this kind are open, "
                    "the server's limit; close one or raise "
                    + _LIMIT_KEYS.get(kind.name, "the limit"),
                )

            if streaming_out:

                def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    if not kind.admit():
                        refuse(context)
                    if announce:  # a watcher learns at once that it is in, not at the first trigger
                        context.send_initial_metadata(())
                    timed = _timed(request, idle, context, method) if idle else None
                    try:
                        yield from behavior(timed or request, context)
                    finally:
                        kind.leave()
                        if timed is not None:
                            timed.close()

                return stream

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                if not kind.admit():
                    refuse(context)
                timed = _timed(request, idle, context, method) if idle else None
                try:
                    return behavior(timed or request, context)
                finally:
                    kind.leave()
                    if timed is not None:
                        timed.close()

            return unary

        if handler.stream_stream:
            return handler._replace(stream_stream=admitted(handler.stream_stream, True))
        if handler.unary_stream:
            return handler._replace(unary_stream=admitted(handler.unary_stream, True))
        return handler._replace(stream_unary=admitted(handler.stream_unary, False))

    def place(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """Tags the outermost behavior with its kind's pool (grpcio reads the attribute per call)."""
        pool = self.kinds[self.kind_of(method, handler)].pool
        for arity in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
            behavior = getattr(handler, arity)
            if behavior is None:
                continue
            if getattr(behavior, "experimental_thread_pool", None) is pool:
                continue
            try:  # the wrappers' closures are made per method and take the attribute themselves
                behavior.experimental_thread_pool = pool
            except AttributeError:  # a bound method: wrap it once
                placed = _placed(behavior)
                placed.experimental_thread_pool = pool  # type: ignore[attr-defined]
                handler = handler._replace(**{arity: placed})
        return handler

    def drain(self, timeout_s: float) -> bool:
        """Waits until every stream handler has returned (their `finally` blocks write out live
        interactions), at most `timeout_s`; True when all did."""
        deadline = time.monotonic() + timeout_s
        return all(
            k.wait_closed(max(0.0, deadline - time.monotonic()))
            for k in self.kinds.values()
            if k.limit is not None
        )

    def shutdown(self) -> None:
        if self._idle is not None:
            self._idle.close()
        for kind in self.kinds.values():
            kind.pool.shutdown(wait=False, cancel_futures=True)


def widen_futex_hash(threads: int) -> int:
    """Gives this process a futex hash with a bucket per expected sleeping thread (a power of two,
    which the kernel requires); returns its size, or 0 where the kernel has no private futex hash
    (before 6.16, or not Linux: the global hash, sized by the kernel, is used)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        current = libc.prctl(_PR_FUTEX_HASH, _FUTEX_HASH_GET_SLOTS, 0, 0, 0)
    except (OSError, AttributeError):
        return 0
    if current < 0:
        return 0
    slots = 1 << max(threads - 1, 15).bit_length()
    if current >= slots:
        return current
    if libc.prctl(_PR_FUTEX_HASH, _FUTEX_HASH_SET_SLOTS, slots, 0, 0) != 0:
        log.warning(
            "could not size the futex hash for %d threads (%s): thousands of open streams will "
            "cost more CPU per call",
            threads,
            os.strerror(ctypes.get_errno()),
        )
        return current
    log.debug("futex hash: %d slots for up to %d threads", slots, threads)
    return slots


def _placed(behavior: Callable) -> Callable:
    """A distinct function object to carry the pool (bound methods take no attributes)."""

    def call(request: Any, context: grpc.ServicerContext) -> Any:
        return behavior(request, context)

    return call


def _timed(requests: Iterator[Any], idle: _Idle, context: grpc.ServicerContext, method: str):
    """The client's messages, with the stream marked idle while it waits for the next one."""
    entry = idle.track(context, method)
    try:
        while True:
            entry.since = time.monotonic()
            try:
                request = next(requests)
            except StopIteration:
                return
            entry.since = None
            yield request
    finally:
        entry.done = True
