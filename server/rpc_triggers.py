"""Trigger RPCs: ReportIssue, WatchTriggers, AckTrigger, ListTriggers, GetTriggerKpis."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from clients.pb import voc_pb2
from server import convert
from server.delivery import deliveries_of
from server.kpi import period_kpis
from server.service import VocService
from server.sla import SlaParams
from server.trigger_rules import ReportIn


def _unspecified(name: str) -> str:
    return "" if name.endswith("_UNSPECIFIED") else name


class TriggerRpcs:
    """Mixed into VocServicer: protobuf in, trigger engine call, protobuf out."""

    service: VocService

    def ReportIssue(
        self, request: voc_pb2.IssueReport, context: grpc.ServicerContext
    ) -> voc_pb2.ReportAck:
        outcome = self.service.report(
            ReportIn(
                report_id=request.report_id,
                agent_id=request.agent_id,
                tag=request.tag,
                customer_id=request.customer_id,
                interaction_id=request.interaction_id,
                note=request.note,
                ts_ms=request.ts_ms,
            )
        )
        ack = voc_pb2.ReportAck(
            report_id=outcome.report_id,
            duplicate=outcome.duplicate,
            distinct_agents=outcome.distinct_agents,
            threshold=outcome.threshold,
            window_s=outcome.window_s,
            tag=outcome.tag,
        )
        if outcome.trigger is not None:
            ack.trigger.CopyFrom(convert.trigger_pb(outcome.trigger))
        return ack

    def WatchTriggers(
        self, request: voc_pb2.WatchRequest, context: grpc.ServicerContext
    ) -> Iterator[voc_pb2.Trigger]:
        level = convert.enum_name(voc_pb2.TriggerLevel, request.min_level, "min_level")
        triggers = self.service.require_triggers()
        sub = triggers.subscribe(_unspecified(level))
        # a client that goes away ends the wait at once; the subscription's own poll is minutes
        if not context.add_callback(sub.close):  # it went away already
            sub.close()
            return
        try:
            for trigger in triggers.follow(sub, request.since_ms):
                if trigger is None:
                    if not context.is_active():
                        return
                    continue
                yield convert.trigger_pb(trigger)
        finally:
            sub.close()

    def AckTrigger(
        self, request: voc_pb2.AckTriggerRequest, context: grpc.ServicerContext
    ) -> voc_pb2.Trigger:
        trigger = self.service.require_triggers().ack(
            request.trigger_id, request.by, request.resolve
        )
        return convert.trigger_pb(trigger)

    def ListTriggers(
        self, request: voc_pb2.ListTriggersRequest, context: grpc.ServicerContext
    ) -> voc_pb2.TriggerList:
        state = convert.enum_name(voc_pb2.TriggerState, request.state, "state")
        found = self.service.require_triggers().list(
            _unspecified(state), request.since_ms, request.limit
        )
        store = self.service.store
        return voc_pb2.TriggerList(
            triggers=[
                convert.trigger_pb(t | {"deliveries": deliveries_of(store, t["id"])}) for t in found
            ]
        )

    def GetTriggerKpis(
        self, request: voc_pb2.KpiRequest, context: grpc.ServicerContext
    ) -> voc_pb2.KpiReport:
        # reads the shared store only: any process answers, none forwards to the owner
        service = self.service
        since, until, group_by, rows = period_kpis(
            service.store,
            SlaParams.from_section(service.cfg.sla),
            service.clock(),
            request.since_ms,
            request.until_ms,
            request.group_by,
        )
        return voc_pb2.KpiReport(
            since_ms=since,
            until_ms=until,
            group_by=group_by,
            rows=[voc_pb2.KpiRow(**row) for row in rows],
        )
