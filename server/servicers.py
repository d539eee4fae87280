"""Thin gRPC servicers: protobuf in, domain call, protobuf out."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from clients.pb import admin_pb2, admin_pb2_grpc, voc_pb2, voc_pb2_grpc
from server import convert
from server.errors import FailedPrecondition, InvalidArgument
from server.lexicon import LexiconError
from server.node import Node
from server.rpc_live import LiveRpcs
from server.rpc_triggers import TriggerRpcs
from server.service import VocService


class VocServicer(LiveRpcs, TriggerRpcs, voc_pb2_grpc.VocServicer):
    """The `voc.v1.Voc` service; live-scoring and trigger RPCs come from their own modules."""

    def __init__(self, service: VocService) -> None:
        self.service = service
        self.interactions = service.interactions
        self._locale = service.cfg.server.default_locale

    def GetSummaryCard(
        self, request: voc_pb2.CardRequest, context: grpc.ServicerContext
    ) -> voc_pb2.SummaryCard:
        locale = convert.locale_of(request.locale, self._locale)
        card = self.service.card(request.customer_id, request.interaction_id, locale)
        return convert.card_pb(card)

    def RecordFeedback(
        self, request: voc_pb2.Feedback, context: grpc.ServicerContext
    ) -> voc_pb2.FeedbackAck:
        result = self.service.feedback(convert.feedback_in(request))
        return convert.feedback_ack_pb(result)

    def GetAgentDashboard(
        self, request: voc_pb2.AgentRequest, context: grpc.ServicerContext
    ) -> voc_pb2.AgentDashboard:
        board = self.service.dashboard(request.agent_id, request.comments_limit)
        return convert.dashboard_pb(board, self.service.clock())


class AdminServicer(admin_pb2_grpc.AdminServicer):
    """The `voc.v1.Admin` service."""

    def __init__(self, service: VocService, node: Node) -> None:
        self.service = service
        self.node = node

    def UpsertProfiles(
        self, request_iterator: Iterator[admin_pb2.Profile], context: grpc.ServicerContext
    ) -> admin_pb2.UpsertSummary:
        def profiles():
            for msg in request_iterator:
                try:
                    yield convert.profile_in(msg)
                except InvalidArgument as exc:
                    yield exc

        outcome = self.service.upsert(profiles())
        return admin_pb2.UpsertSummary(
            upserted=outcome.upserted, rejected=outcome.rejected, errors=outcome.errors
        )

    def ReloadLexicons(
        self, request: admin_pb2.ReloadRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ReloadReply:
        try:
            lexicon = self.node.reload().lexicon
        except LexiconError as exc:  # the message starts with FILE:LINE
            current = self.service.engine.current.lexicon.version
            raise FailedPrecondition(
                f"lexicon reload failed, still serving {current}: {exc} (fix the file and reload)"
            ) from None
        return admin_pb2.ReloadReply(version=lexicon.version, terms=lexicon.counts())

    def GetStats(
        self, request: admin_pb2.StatsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Stats:
        processes = [
            admin_pb2.ProcessState(
                pid=p["pid"],
                role=p["role"],
                lexicon_version=p["version"],
                reload_seq=p["seq"],
                loaded_ms=p["at"],
            )
            for p in self.node.processes()
        ]
        return admin_pb2.Stats(**self.service.stats(), processes=processes)
