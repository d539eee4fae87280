"""The baseline: the voc.v1.Voc service with handlers that answer an empty reply at once.

Same server options (server.app.server_options), thread pool size and concurrency limit as the
real server, and no interceptor: what is left is the cost of grpcio itself, which every budget in
DESIGN.md is a ratio to.

    python -m bench.empty_server [--threads N] [--port P]   # prints "PORT <n>" when listening
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc

from clients.pb import voc_pb2, voc_pb2_grpc
from server.app import server_options
from server.config import Config, load_config


class EmptyVoc(voc_pb2_grpc.VocServicer):
    """Every RPC returns an empty message of its response type; streams echo one per request."""

    def GetSummaryCard(
        self, request: voc_pb2.CardRequest, context: grpc.ServicerContext
    ) -> voc_pb2.SummaryCard:
        return voc_pb2.SummaryCard()

    def ScoreUtterance(
        self, request: voc_pb2.Utterance, context: grpc.ServicerContext
    ) -> voc_pb2.UtteranceScore:
        return voc_pb2.UtteranceScore()

    def StreamInteraction(
        self, request_iterator: Iterator[voc_pb2.Utterance], context: grpc.ServicerContext
    ) -> Iterator[voc_pb2.UtteranceScore]:
        for _ in request_iterator:
            yield voc_pb2.UtteranceScore()

    def EndInteraction(
        self, request: voc_pb2.EndInteractionRequest, context: grpc.ServicerContext
    ) -> voc_pb2.InteractionSummary:
        return voc_pb2.InteractionSummary()

    def RecordFeedback(
        self, request: voc_pb2.Feedback, context: grpc.ServicerContext
    ) -> voc_pb2.FeedbackAck:
        return voc_pb2.FeedbackAck()

    def GetAgentDashboard(
        self, request: voc_pb2.AgentRequest, context: grpc.ServicerContext
    ) -> voc_pb2.AgentDashboard:
        return voc_pb2.AgentDashboard()

    def ReportIssue(
        self, request: voc_pb2.IssueReport, context: grpc.ServicerContext
    ) -> voc_pb2.ReportAck:
        return voc_pb2.ReportAck()

    def WatchTriggers(
        self, request: voc_pb2.WatchRequest, context: grpc.ServicerContext
    ) -> Iterator[voc_pb2.Trigger]:
        return iter(())

    def AckTrigger(
        self, request: voc_pb2.AckTriggerRequest, context: grpc.ServicerContext
    ) -> voc_pb2.Trigger:
        return voc_pb2.Trigger()

    def ListTriggers(
        self, request: voc_pb2.ListTriggersRequest, context: grpc.ServicerContext
    ) -> voc_pb2.TriggerList:
        return voc_pb2.TriggerList()


def default_config() -> Config:
    """The real server's defaults, ignoring VOC_* of the host, so both servers match."""
    return load_config(None, env={})


def start_empty_server(threads: int, port: int = 0) -> tuple[grpc.Server, int]:
    """Starts the empty service on 127.0.0.1:port (0: a free one); returns (server, port)."""
    cfg = default_config()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpc"),
        options=server_options(cfg),
        maximum_concurrent_rpcs=threads * 64,
    )
    voc_pb2_grpc.add_VocServicer_to_server(EmptyVoc(), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if not bound:
        raise RuntimeError(f"cannot listen on 127.0.0.1:{port}")
    server.start()
    return server, bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.empty_server", description=__doc__)
    parser.add_argument("--threads", type=int, default=default_config().server.threads)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server, port = start_empty_server(args.threads, args.port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"PORT {port}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop(1.0).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
