"""Server reflection on the public port describes the public API only, never the internal Owner proto."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from clients.client import VocClient

NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]


def ask(client: VocClient, **request: str) -> reflection_pb2.ServerReflectionResponse:
    stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
    replies = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=5
    )
    return next(replies)


def file_names(reply: reflection_pb2.ServerReflectionResponse) -> set[str]:
    names = set()
    for blob in reply.file_descriptor_response.file_descriptor_proto:
        names.add(descriptor_pb2.FileDescriptorProto.FromString(blob).name)
    return names


def test_list_services_shows_only_the_public_services(client: VocClient) -> None:
    reply = ask(client, list_services="")
    names = {s.name for s in reply.list_services_response.service}
    assert names == {
        "voc.v1.Voc",
        "voc.v1.Admin",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


@pytest.mark.parametrize(
    "request_",
    [
        {"file_containing_symbol": "voc.v1.Owner"},
        {"file_containing_symbol": "voc.v1.Owner.ObserveBatch"},
        {"file_containing_symbol": "voc.v1.ObserveRequest"},
        {"file_by_filename": "voc/v1/internal.proto"},
    ],
)
def test_internal_proto_is_not_served(client: VocClient, request_: dict[str, str]) -> None:
    reply = ask(client, **request_)
    assert reply.WhichOneof("message_response") == "error_response"
    assert reply.error_response.error_code == NOT_FOUND


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("voc.v1.Voc", "voc/v1/voc.proto"),
        ("voc.v1.SummaryCard", "voc/v1/voc.proto"),
        ("voc.v1.Admin", "voc/v1/admin.proto"),
        ("grpc.health.v1.Health", "grpc_health/v1/health.proto"),
    ],
)
def test_public_symbols_resolve_with_their_dependencies(
    client: VocClient, symbol: str, expected: str
) -> None:
    reply = ask(client, file_containing_symbol=symbol)
    names = file_names(reply)
    assert expected in names
    assert "voc/v1/internal.proto" not in names
    if expected == "voc/v1/admin.proto":
        assert "voc/v1/voc.proto" in names
