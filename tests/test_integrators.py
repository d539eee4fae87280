"""The README's grpcurl examples against a live server with the demo store: every `-d` body is
parsed with the protobuf JSON mapping into its method's request type and sent as grpcurl would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor_pool import Default
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2  # noqa: F401 - registers grpc.health.v1 in the pool
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from clients.pb import admin_pb2, voc_pb2  # noqa: F401 - register voc.v1 in the pool
from server.app import Running, build_server
from server.demo import seed_demo
from tests.conftest import make_config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"^grpcurl -plaintext -d '([^']*)' 127\.0\.0\.1:50051 ([\w.]+)/(\w+)$", re.M)
EXAMPLES = EXAMPLE.findall(README)


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    cfg = make_config(tmp_path_factory.mktemp("store"))
    seed_demo(cfg)
    running: Running = build_server(cfg)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=10)
            yield ch
    finally:
        running.stop(grace=0.5)


def test_readme_has_an_example_per_main_method() -> None:
    methods = {m for _, _, m in EXAMPLES}
    assert {"GetSummaryCard", "ScoreUtterance", "RecordFeedback", "ReportIssue"} <= methods
    assert "grpcurl 1." in README  # the version they were written for


@pytest.mark.parametrize(("body", "service", "method"), EXAMPLES, ids=[m for _, _, m in EXAMPLES])
def test_grpcurl_example_is_a_valid_call(channel: grpc.Channel, body, service, method) -> None:
    desc = Default().FindServiceByName(service).methods_by_name[method]
    request = json_format.Parse(body, GetMessageClass(desc.input_type)())
    reply_type = GetMessageClass(desc.output_type)
    path = f"/{service}/{method}"
    kw = {"request_serializer": type(request).SerializeToString}
    kw["response_deserializer"] = reply_type.FromString
    if desc.server_streaming:
        call = channel.unary_stream(path, **kw)(request, timeout=1.0)
        with pytest.raises(grpc.RpcError) as err:  # no trigger fires: the watch just waits
            list(call)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        return
    reply = channel.unary_unary(path, **kw)(request, timeout=10)
    if method == "GetSummaryCard":
        assert reply.known and reply.alerts and reply.opening_line


def test_grpcurl_list_shows_the_public_services(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (reply,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    names = {s.name for s in reply.list_services_response.service}
    assert {"voc.v1.Voc", "voc.v1.Admin", "grpc.health.v1.Health"} <= names
