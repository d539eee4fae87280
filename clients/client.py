"""The Python client: one class, typed methods, deadlines by default, usable as a context manager."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.pb import admin_pb2, admin_pb2_grpc, voc_pb2, voc_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_MESSAGE_BYTES = 4 << 20


class VocClient:
    """Talks to a vocscore server; every call has a deadline (`timeout` seconds by default).
    The target defaults to $VOC_TARGET, then 127.0.0.1:50051."""

    def __init__(
        self,
        target: str | None = None,
        *,
        timeout: float = 5.0,
        token: str | None = None,
        ca_file: str | Path | None = None,
        client_cert: tuple[str | Path, str | Path] | None = None,
        channel_options: tuple[tuple[str, Any], ...] = (),
    ) -> None:
        target = target or os.environ.get("VOC_TARGET") or DEFAULT_TARGET
        self.target = target
        self.timeout = timeout
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            *channel_options,
        ]
        if ca_file or client_cert:
            root = Path(ca_file).read_bytes() if ca_file else None
            key = cert = None
            if client_cert:
                cert, key = (Path(p).read_bytes() for p in client_cert)
            creds = grpc.ssl_channel_credentials(root, key, cert)
            self.channel = grpc.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.voc = voc_pb2_grpc.VocStub(self.channel)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    def __enter__(self) -> VocClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _kw(self, timeout: float | None) -> dict[str, Any]:
        return {"timeout": self.timeout if timeout is None else timeout, "metadata": self._metadata}

    # -- screen pop, feedback, dashboard --------------------------------------------------

    def card(
        self,
        customer_id: str,
        *,
        interaction_id: str = "",
        locale: str = "",
        timeout: float | None = None,
    ) -> voc_pb2.SummaryCard:
        request = voc_pb2.CardRequest(
            customer_id=customer_id, interaction_id=interaction_id, locale=locale
        )
        return self.voc.GetSummaryCard(request, **self._kw(timeout))

    def feedback(
        self,
        feedback_id: str,
        customer_id: str,
        kind: str,
        *,
        score: int | None = None,
        text: str = "",
        agent_id: str = "",
        channel: str = "CHANNEL_UNSPECIFIED",
        ts_ms: int = 0,
        locale: str = "",
        timeout: float | None = None,
    ) -> voc_pb2.FeedbackAck:
        request = voc_pb2.Feedback(
            feedback_id=feedback_id,
            customer_id=customer_id,
            agent_id=agent_id,
            kind=voc_pb2.Feedback.Kind.Value(kind.upper()),
            score=score,  # None leaves it unset: NPS and CSAT need one
            text=text,
            channel=voc_pb2.Channel.Value(channel.upper()),
            ts_ms=ts_ms,
            locale=locale,
        )
        return self.voc.RecordFeedback(request, **self._kw(timeout))

    def dashboard(
        self, agent_id: str, *, comments_limit: int = 10, timeout: float | None = None
    ) -> voc_pb2.AgentDashboard:
        request = voc_pb2.AgentRequest(agent_id=agent_id, comments_limit=comments_limit)
        return self.voc.GetAgentDashboard(request, **self._kw(timeout))

    # -- live scoring ---------------------------------------------------------------------

    def score(
        self,
        interaction_id: str,
        text: str,
        *,
        customer_id: str = "",
        agent_id: str = "",
        speaker: str = "CUSTOMER",
        channel: str = "CHAT",
        ts_ms: int = 0,
        locale: str = "",
        timeout: float | None = None,
    ) -> voc_pb2.UtteranceScore:
        """Scores one utterance of a live interaction."""
        request = utterance_message(
            interaction_id,
            text,
            customer_id=customer_id,
            agent_id=agent_id,
            speaker=speaker,
            channel=channel,
            ts_ms=ts_ms,
            locale=locale,
        )
        return self.voc.ScoreUtterance(request, **self._kw(timeout))

    def stream(
        self, utterances: Iterable[voc_pb2.Utterance], *, timeout: float | None = 3600.0
    ) -> Iterator[voc_pb2.UtteranceScore]:
        """One bidirectional stream per interaction; exhausting `utterances` ends it."""
        return self.voc.StreamInteraction(iter(utterances), **self._kw(timeout))

    def end_interaction(
        self,
        interaction_id: str,
        *,
        customer_id: str = "",
        agent_id: str = "",
        timeout: float | None = None,
    ) -> voc_pb2.InteractionSummary:
        request = voc_pb2.EndInteractionRequest(
            interaction_id=interaction_id, customer_id=customer_id, agent_id=agent_id
        )
        return self.voc.EndInteraction(request, **self._kw(timeout))

    # -- admin and ops --------------------------------------------------------------------

    def upsert_profiles(
        self,
        profiles: Iterable[admin_pb2.Profile | Mapping[str, Any]],
        *,
        timeout: float | None = 600.0,
    ) -> admin_pb2.UpsertSummary:
        def messages() -> Iterator[admin_pb2.Profile]:
            for p in profiles:
                yield p if isinstance(p, admin_pb2.Profile) else profile_message(p)

        return self.admin.UpsertProfiles(messages(), **self._kw(timeout))

    def reload_lexicons(self, *, timeout: float | None = 60.0) -> admin_pb2.ReloadReply:
        return self.admin.ReloadLexicons(admin_pb2.ReloadRequest(), **self._kw(timeout))

    def stats(self, *, timeout: float | None = None) -> admin_pb2.Stats:
        return self.admin.GetStats(admin_pb2.StatsRequest(), **self._kw(timeout))

    def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """SERVING, NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN."""
        reply = self._health.Check(
            health_pb2.HealthCheckRequest(service=service),
            timeout=self.timeout if timeout is None else timeout,
        )
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def wait_until_serving(self, deadline_s: float = 10.0) -> None:
        """Polls health until SERVING; raises TimeoutError naming the last status seen."""
        end = time.monotonic() + deadline_s
        last = "no answer"
        while time.monotonic() < end:
            try:
                last = self.health(timeout=1.0)
                if last == "SERVING":
                    return
            except grpc.RpcError as exc:
                last = exc.code().name
            time.sleep(0.05)
        raise TimeoutError(f"{self.target} not SERVING after {deadline_s}s (last: {last})")

    # -- one-click reports and triggers ---------------------------------------------------

    def report(
        self,
        report_id: str,
        agent_id: str,
        tag: str,
        *,
        customer_id: str = "",
        interaction_id: str = "",
        note: str = "",
        ts_ms: int = 0,
        timeout: float | None = None,
    ) -> voc_pb2.ReportAck:
        """One-click report; retry with the same report_id freely (idempotent)."""
        request = voc_pb2.IssueReport(
            report_id=report_id,
            agent_id=agent_id,
            tag=tag,
            customer_id=customer_id,
            interaction_id=interaction_id,
            note=note,
            ts_ms=ts_ms,
        )
        return self.voc.ReportIssue(request, **self._kw(timeout))

    def watch(
        self, *, min_level: str = "", since_ms: int = 0, timeout: float | None = None
    ) -> Iterator[voc_pb2.Trigger]:
        """Triggers as they fire (after a replay of those since `since_ms`); no deadline by
        default. The iterator is a grpc call: `.cancel()` it to stop watching."""
        level = voc_pb2.TriggerLevel.Value(min_level.upper()) if min_level else 0
        request = voc_pb2.WatchRequest(min_level=level, since_ms=since_ms)
        return self.voc.WatchTriggers(request, timeout=timeout, metadata=self._metadata)

    def ack_trigger(
        self, trigger_id: str, by: str, *, resolve: bool = False, timeout: float | None = None
    ) -> voc_pb2.Trigger:
        request = voc_pb2.AckTriggerRequest(trigger_id=trigger_id, by=by, resolve=resolve)
        return self.voc.AckTrigger(request, **self._kw(timeout))

    def list_triggers(
        self,
        *,
        state: str = "",
        since_ms: int = 0,
        limit: int = 100,
        timeout: float | None = None,
    ) -> list[voc_pb2.Trigger]:
        """Newest first."""
        request = voc_pb2.ListTriggersRequest(
            state=voc_pb2.TriggerState.Value(state.upper()) if state else 0,
            since_ms=since_ms,
            limit=limit,
        )
        return list(self.voc.ListTriggers(request, **self._kw(timeout)).triggers)

    def trigger_kpis(
        self,
        *,
        since_ms: int = 0,
        until_ms: int = 0,
        group_by: str = "owner",
        timeout: float | None = None,
    ) -> voc_pb2.KpiReport:
        """KPIs per owner or topic over a period (default: the last 30 days)."""
        request = voc_pb2.KpiRequest(since_ms=since_ms, until_ms=until_ms, group_by=group_by)
        return self.voc.GetTriggerKpis(request, **self._kw(timeout))


_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}


def to_dict(msg: Message) -> dict[str, Any]:
    """A reply as plain data: the protobuf JSON mapping (enum names such as "DETRACTOR", proto
    field names, every field), except that 64-bit integers stay numbers like every other
    integer (the JSON mapping makes them strings). `vocscore --json` prints exactly this."""
    d = MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    _ints64(msg.DESCRIPTOR, d)
    return d


def _ints64(descriptor: Any, d: dict[str, Any]) -> None:
    for fd in descriptor.fields:
        value = d.get(fd.name)
        if value is None:
            continue
        mt = fd.message_type
        if mt is not None and mt.GetOptions().map_entry:
            vfd = mt.fields_by_name["value"]
            for k, v in value.items():
                if vfd.message_type is not None:
                    _ints64(vfd.message_type, v)
                elif vfd.type in _INT64:
                    value[k] = int(v)
        elif mt is not None:
            for sub in value if fd.is_repeated else (value,):
                if isinstance(sub, dict):
                    _ints64(mt, sub)
        elif fd.type in _INT64:
            d[fd.name] = [int(v) for v in value] if fd.is_repeated else int(value)


def utterance_message(
    interaction_id: str,
    text: str,
    *,
    customer_id: str = "",
    agent_id: str = "",
    speaker: str = "CUSTOMER",
    channel: str = "CHAT",
    ts_ms: int = 0,
    locale: str = "",
) -> voc_pb2.Utterance:
    return voc_pb2.Utterance(
        interaction_id=interaction_id,
        customer_id=customer_id,
        agent_id=agent_id,
        speaker=voc_pb2.Speaker.Value(speaker.upper()),
        channel=voc_pb2.Channel.Value(channel.upper()),
        text=text,
        ts_ms=ts_ms,
        locale=locale,
    )


def profile_message(p: Mapping[str, Any]) -> admin_pb2.Profile:
    """A Profile from a mapping such as a CSV row or JSONL object; unknown tiers raise ValueError."""
    tier = str(p.get("tier") or "").strip().upper()
    if tier not in ("STANDARD", "VIP", "VVIP"):
        raise ValueError(f"tier: must be STANDARD, VIP or VVIP, got {p.get('tier')!r}")
    attributes = p.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise ValueError("attributes: must be an object")
    extra = {
        k: str(v)
        for k, v in p.items()
        if k not in ("customer_id", "tier", "name", "locale", "attributes") and v not in (None, "")
    }
    customer_id = str(p.get("customer_id") or "").strip()
    name = str(p.get("name") or "")
    if not name.isprintable():
        raise ValueError("name: contains control characters")
    bad_key = next((k for k in attributes if not str(k).isprintable()), None)
    if bad_key is not None:
        raise ValueError(f"attributes: key {str(bad_key)!r} contains control characters")
    if any(ch.isspace() or not ch.isprintable() for ch in customer_id):
        raise ValueError(
            f"customer_id: {customer_id!r} contains a space or control character "
            "(ids are one word, as every RPC receives them)"
        )
    return admin_pb2.Profile(
        customer_id=customer_id,
        tier=voc_pb2.Tier.Value(tier),
        name=name,
        locale=str(p.get("locale") or ""),
        attributes={**{k: str(v) for k, v in attributes.items()}, **extra},
    )
