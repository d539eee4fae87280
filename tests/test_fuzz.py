"""Random and malformed requests for every Voc and Admin RPC get a defined status, never a crash."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from clients.client import VocClient
from clients.pb import admin_pb2, voc_pb2
from server.app import Running

DEFINED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
}
METHODS = [
    (service, method)
    for pb in (voc_pb2, admin_pb2)
    for service in pb.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]
# WatchTriggers never ends by itself: the client's own deadline stops it
WATCH_S = 0.3
SLOW = {"ReloadLexicons": 5}
FUZZ = settings(
    # VOC_FUZZ_EXAMPLES=500 for a deeper hunt than the quick default
    max_examples=int(os.environ.get("VOC_FUZZ_EXAMPLES", "25")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_F = FieldDescriptor
_INT_RANGES = {
    _F.TYPE_INT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _F.TYPE_INT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _F.TYPE_UINT32: (0, 2**32 - 1),
    _F.TYPE_FIXED32: (0, 2**32 - 1),
    _F.TYPE_UINT64: (0, 2**64 - 1),
    _F.TYPE_FIXED64: (0, 2**64 - 1),
}
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=300),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=20),
    st.sampled_from(
        ["", " ", "\x00", "C0001", "A001", "zh", "en", "payment failed", "快递太慢了，我要投诉",
         "\u202e\u200b", "😡" * 50, "a" * 129, "快" * 4001, "x" * 1_100_000]
    ),
)  # fmt: skip


def ints(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [v for v in (-1, 0, 1, low, high, 2**31, -(2**31) - 1) if low <= v <= high]
    return st.one_of(st.integers(max(low, -3), min(high, 12)), st.sampled_from(edges),
                     st.integers(low, high))  # fmt: skip


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t == _F.TYPE_STRING:
        return TEXT
    if t == _F.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == _F.TYPE_BOOL:
        return st.booleans()
    if t in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE):
        return st.floats(width=32 if t == _F.TYPE_FLOAT else 64)
    if t == _F.TYPE_ENUM:
        # proto3 enums are open: numbers no version of the enum defines must be handled too
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), ints(-(2**31), 2**31 - 1))
    return ints(*_INT_RANGES[t])


def field_values(descriptor: Any, depth: int = 0) -> dict[str, st.SearchStrategy[Any]]:
    """For each field of a message type, any value of the field's type."""
    values = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields
            values[field.name] = st.dictionaries(scalar(key), scalar(value), max_size=40)
        elif field.message_type is not None:
            if depth >= 2:
                continue
            one = messages(field.message_type, depth + 1)
            values[field.name] = st.lists(one, max_size=3) if _repeated(field) else one
        elif _repeated(field):
            values[field.name] = st.lists(scalar(field), max_size=5)
        else:
            values[field.name] = scalar(field)
    return values


def _set(msg: Message, name: str, value: Any) -> None:
    target = getattr(msg, name)
    if isinstance(value, dict):
        target.clear()
        target.update(value)
    elif isinstance(value, list):
        del target[:]
        target.extend(value)
    elif isinstance(value, Message):
        target.CopyFrom(value)
    else:
        setattr(msg, name, value)


def messages(descriptor: Any, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages with any subset of fields set to any value of the field's type."""
    cls = _classes[descriptor.full_name]

    def build(values: dict[str, Any]) -> Message:
        msg = cls()
        for name, value in values.items():
            _set(msg, name, value)
        return msg

    optional = field_values(descriptor, depth)
    return st.fixed_dictionaries({}, optional=optional).map(build)


@st.composite
def near_valid(draw: st.DrawFn, descriptor: Any) -> Message:
    """A valid request with one or two fields replaced: reaches the checks past the first."""
    msg = _classes[descriptor.full_name]()
    msg.CopyFrom(VALID.get(descriptor.full_name, msg))
    values = field_values(descriptor)
    if values:
        names = draw(st.lists(st.sampled_from(sorted(values)), max_size=2, unique=True))
        for name in names:
            _set(msg, name, draw(values[name]))
    return msg


def _repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated


def _all_classes() -> dict[str, type[Message]]:
    out = {}
    for pb in (voc_pb2, admin_pb2):
        stack = list(pb.DESCRIPTOR.message_types_by_name.values())
        while stack:
            d = stack.pop()
            out[d.full_name] = d._concrete_class
            stack.extend(d.nested_types)
    return out


_classes = _all_classes()
_u = voc_pb2.Utterance(
    interaction_id="fz-i",
    customer_id="fz-c",
    agent_id="fz-a",
    speaker=voc_pb2.CUSTOMER,
    channel=voc_pb2.CHAT,
    text="快递太慢了，我很生气",
)
VALID: dict[str, Message] = {m.DESCRIPTOR.full_name: m for m in (
    voc_pb2.CardRequest(customer_id="fz-c", interaction_id="fz-i", locale="en"),
    _u,
    voc_pb2.EndInteractionRequest(interaction_id="fz-i", customer_id="fz-c"),
    voc_pb2.Feedback(feedback_id="fz-f", customer_id="fz-c", agent_id="fz-a",
                     kind=voc_pb2.Feedback.CSAT, score=2, text="物流太慢 call 13812345678"),
    voc_pb2.AgentRequest(agent_id="fz-a", comments_limit=5),
    voc_pb2.IssueReport(report_id="fz-r", agent_id="fz-a", tag="payment failed",
                        customer_id="fz-c", note="扣款两次"),
    voc_pb2.WatchRequest(min_level=voc_pb2.P1),
    voc_pb2.AckTriggerRequest(trigger_id="fz-t", by="ops"),
    voc_pb2.ListTriggersRequest(limit=10),
    admin_pb2.Profile(customer_id="fz-c", tier=voc_pb2.VIP, name="Fuzz", locale="zh"),
)}  # fmt: skip


def call(
    channel: grpc.Channel, service: Any, method: Any, payload: Any, raw: bool = False
) -> grpc.StatusCode:
    """Sends one request (a message, a list of them, or raw bytes) and returns the status code."""
    path = f"/{service.full_name}/{method.name}"
    out = (lambda b: b) if raw else (lambda m: m.SerializeToString())
    kind = {
        (False, False): channel.unary_unary,
        (True, False): channel.stream_unary,
        (False, True): channel.unary_stream,
        (True, True): channel.stream_stream,
    }[(method.client_streaming, method.server_streaming)]
    stub = kind(path, request_serializer=out, response_deserializer=lambda b: b)
    timeout = WATCH_S if method.name == "WatchTriggers" else 20.0
    request: Any = iter(payload) if method.client_streaming else payload
    try:
        reply = stub(request, timeout=timeout)
        if method.server_streaming:
            for _ in reply:
                pass
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED and method.name == "WatchTriggers":
            return grpc.StatusCode.OK  # it was still streaming: our deadline ended it
        return exc.code()
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def channel(server: Running, client: VocClient) -> Iterator[grpc.Channel]:
    limit = 4 << 20
    options = [("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit)]
    with grpc.insecure_channel(f"127.0.0.1:{server.port}", options=options) as ch:
        yield ch


def _id(m: tuple[Any, Any]) -> str:
    return f"{m[0].name}.{m[1].name}"


@pytest.mark.parametrize("rpc", METHODS, ids=_id)
def test_random_messages_get_defined_codes(rpc: tuple[Any, Any], channel: grpc.Channel) -> None:
    service, method = rpc
    one = st.one_of(messages(method.input_type), near_valid(method.input_type))
    payloads = st.lists(one, max_size=4) if method.client_streaming else one

    @settings(FUZZ, max_examples=SLOW.get(method.name, FUZZ.max_examples))
    @given(payloads)
    def check(payload: Any) -> None:
        code = call(channel, service, method, payload)
        assert code in DEFINED, f"{method.name} answered {code}"

    check()


@pytest.mark.parametrize("rpc", METHODS, ids=_id)
def test_undecodable_bytes_get_defined_codes(rpc: tuple[Any, Any], channel: grpc.Channel) -> None:
    service, method = rpc
    garbage = st.one_of(
        st.binary(min_size=1, max_size=200),
        st.sampled_from([b"\xff" * 8, b"\x0a\x05\xff\xfe\xfd\xfc\xfb", b"\x08" + b"\xff" * 11]),
    )
    payloads = st.lists(garbage, min_size=1, max_size=3) if method.client_streaming else garbage

    @settings(FUZZ, max_examples=SLOW.get(method.name, FUZZ.max_examples))
    @given(payloads)
    def check(payload: Any) -> None:
        code = call(channel, service, method, payload, raw=True)
        assert code in DEFINED, f"{method.name} answered {code} to raw bytes"

    check()


def test_invalid_utf8_is_invalid_argument(channel: grpc.Channel) -> None:
    card = voc_pb2.DESCRIPTOR.services_by_name["Voc"].methods_by_name["GetSummaryCard"]
    service = voc_pb2.DESCRIPTOR.services_by_name["Voc"]
    # field 1 (customer_id), length 2, bytes that are not UTF-8
    code = call(channel, service, card, b"\x0a\x02\xff\xfe", raw=True)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_server_still_serving_after_the_fuzz(server: Running, client: VocClient) -> None:
    assert client.health() == "SERVING"
    assert client.card("after-fuzz").customer_id == "after-fuzz"
    # the server's own count agrees: not one call of the module ended INTERNAL or UNKNOWN
    exposed = generate_latest(server.metrics.registry).decode()
    assert 'grpc_code="INTERNAL"' not in exposed and 'grpc_code="UNKNOWN"' not in exposed
    assert 'grpc_code="OK"' in exposed and 'grpc_code="INVALID_ARGUMENT"' in exposed
