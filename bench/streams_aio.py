"""The grpc.aio candidate for long-lived streams, measured by `python -m bench.streams --aio`.

The same service (`server.app.build_server` over a demo store; its own grpcio sync port stays
unused) behind a `grpc.aio` server in one process: StreamInteraction and WatchTriggers are
coroutines, so an open stream costs a task instead of a thread; the unary servicers are the real,
unchanged sync methods, which grpc.aio runs on its `migration_thread_pool` ([server] threads).

A prototype for the measurement only, not a server to run: no interceptors (auth, metrics, the
error mapping, stream admission), Health/Check always SERVING, and a watcher waits for its client
to leave without delivering triggers (none fire during the benchmark; a real one would need the
trigger hub to wake coroutines through the event loop).

    python -m bench.streams_aio --listen 127.0.0.1:50071 --store /tmp/aio-store
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent import futures
from typing import Any

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.pb import voc_pb2, voc_pb2_grpc
from server.app import build_server, server_options
from server.config import load_config
from server.demo import seed_demo
from server.errors import InvalidArgument, NotFound, VocError
from server.rpc_live import score_pb, utterance_in
from server.servicers import VocServicer

log = logging.getLogger(__name__)


class AioVoc(VocServicer):
    """The real servicer, its two long-lived streams as coroutines."""

    def __init__(self, service: Any, pool: futures.Executor) -> None:
        super().__init__(service)
        self._pool = pool

    async def StreamInteraction(  # type: ignore[override]
        self, request_iterator: AsyncIterator[voc_pb2.Utterance], context: aio.ServicerContext
    ) -> AsyncIterator[voc_pb2.UtteranceScore]:
        live = self.interactions
        interaction_id = None
        customer_id = ""
        try:
            async for request in request_iterator:
                utterance = utterance_in(request)
                if interaction_id is None:
                    interaction_id = utterance.interaction_id.strip()
                elif utterance.interaction_id.strip() != interaction_id:
                    raise InvalidArgument(
                        "interaction_id", "must be the same on every message of a stream"
                    )
                customer_id = customer_id or utterance.customer_id.strip()
                # scoring is tens of microseconds of CPU: on the loop, no thread hand-off
                yield score_pb(live.score(utterance))
        finally:
            if interaction_id:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._pool, _end, live, interaction_id, customer_id)

    async def WatchTriggers(  # type: ignore[override]
        self, request: voc_pb2.WatchRequest, context: aio.ServicerContext
    ) -> AsyncIterator[voc_pb2.Trigger]:
        sub = self.service.require_triggers().subscribe("")
        try:
            await context.send_initial_metadata(())
            await asyncio.Event().wait()  # cancelled when the client leaves
            yield voc_pb2.Trigger()  # never reached; makes this an async generator
        finally:
            sub.close()


def _end(live: Any, interaction_id: str, customer_id: str) -> None:
    try:
        live.end(interaction_id, customer_id)
    except (InvalidArgument, NotFound):
        pass
    except VocError as exc:
        log.warning("ending interaction %r failed: %s", interaction_id, exc)


class AioHealth(health_pb2_grpc.HealthServicer):
    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def serve(listen: str, store: str) -> None:
    cfg = load_config(
        None,
        overrides={
            "server": {"listen": "127.0.0.1:0", "log_level": "WARNING", "workers": 1},
            "store": {"path": store},
            "metrics": {"listen": ""},
            "board": {"listen": ""},
            "gateway": {"listen": ""},
        },
    )
    seed_demo(cfg)
    running = build_server(cfg)
    pool = futures.ThreadPoolExecutor(cfg.server.threads, thread_name_prefix="aio-rpc")
    server = aio.server(migration_thread_pool=pool, options=server_options(cfg))
    voc_pb2_grpc.add_VocServicer_to_server(AioVoc(running.service, pool), server)
    health_pb2_grpc.add_HealthServicer_to_server(AioHealth(), server)
    if not server.add_insecure_port(listen):
        raise SystemExit(f"cannot listen on {listen}")
    await server.start()
    print(f"aio prototype serving on {listen}", flush=True)
    try:
        await server.wait_for_termination()
    finally:
        await server.stop(1.0)
        running.stop(grace=1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams_aio", description=__doc__)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--store", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.listen, args.store))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
