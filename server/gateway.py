"""JSON over HTTP for every RPC, in the Connect protocol (connectrpc.com/docs/protocol).

``POST /voc.v1.Voc/GetSummaryCard`` with ``Content-Type: application/json`` and the request in the
protobuf JSON mapping answers the reply the same way; an error is Connect's
``{"code": "invalid_argument", "message": "..."}`` with the matching HTTP status. Server-streaming
methods (WatchTriggers) answer ``application/connect+json`` envelopes. Client and bidirectional
streams (StreamInteraction, UpsertProfiles) need gRPC (or their unary counterparts: ScoreUtterance,
EndInteraction).

The adapter is driven by the service descriptors, with no code per method, and calls the gRPC
port itself over loopback, so tokens (``Authorization: Bearer``), roles, limits, metrics and error
codes are exactly those of gRPC. ``GET /openapi.json`` describes every unary method, generated
from the same descriptors. ``[gateway] listen`` (default "" = off).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import orjson
import uvicorn
from google.protobuf import descriptor, json_format, message_factory
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from clients.pb import admin_pb2, voc_pb2
from server.config import ConfigError

log = logging.getLogger(__name__)

SERVICES = (
    voc_pb2.DESCRIPTOR.services_by_name["Voc"],
    admin_pb2.DESCRIPTOR.services_by_name["Admin"],
)
# Connect's HTTP status for each gRPC code (connectrpc.com/docs/protocol#error-codes)
HTTP_OF = {
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
_FORWARDED_HEADERS = ("authorization", "idempotency-key")
DEFAULT_TIMEOUT_S = 30.0
_END_STREAM = 0x02


@dataclass(frozen=True, slots=True)
class GatewayParams:
    listen: str = ""  # "HOST:PORT" of the JSON gateway; "" turns it off
    timeout_s: float = DEFAULT_TIMEOUT_S  # when the caller sends no Connect-Timeout-Ms

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> GatewayParams:
        unknown = set(section) - {"listen", "timeout_s"}
        if unknown:
            raise ConfigError(f"[gateway]: unknown key(s) {sorted(unknown)}")
        params = cls(**section)
        if not isinstance(params.listen, str):
            raise ConfigError('[gateway] listen: expected "HOST:PORT" or "" (off)')
        if not isinstance(params.timeout_s, int | float) or params.timeout_s <= 0:
            raise ConfigError("[gateway] timeout_s: expected a positive number of seconds")
        return params


def _error(code: grpc.StatusCode, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code.name.lower(), "message": message}, status_code=HTTP_OF.get(code, 500)
    )


class _Method:
    """One RPC: its path, message classes and a callable on the loopback channel."""

    def __init__(self, channel: grpc.Channel, service: Any, method: Any) -> None:
        self.path = f"/{service.full_name}/{method.name}"
        self.request_cls = message_factory.GetMessageClass(method.input_type)
        self.response_cls = message_factory.GetMessageClass(method.output_type)
        self.client_streaming = method.client_streaming
        self.server_streaming = method.server_streaming
        make = channel.unary_stream if method.server_streaming else channel.unary_unary
        self.call = make(
            self.path,
            request_serializer=self.request_cls.SerializeToString,
            response_deserializer=self.response_cls.FromString,
        )


class Gateway:
    """The Connect JSON gateway on a thread of its own, in front of the gRPC port at `target`."""

    def __init__(self, params: GatewayParams, target: str) -> None:
        self.params = params
        self._channel = grpc.insecure_channel(target)
        self.methods = {
            m.path: m
            for service in SERVICES
            for m in (_Method(self._channel, service, md) for md in service.methods)
        }
        self.app = Starlette(
            routes=[
                Route("/openapi.json", self.openapi, methods=["GET"]),
                Route("/{service}/{method}", self.handle, methods=["POST"]),
            ]
        )
        host, _, port = params.listen.rpartition(":")
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host.strip("[]"), int(port)))
        except ValueError as exc:
            self._sock.close()
            raise ConfigError(f"[gateway] listen {params.listen!r}: {exc}") from None
        except OSError as exc:  # in use: the caller decides whether that is fatal
            self._sock.close()
            raise OSError(f"[gateway] listen {params.listen}: {exc.strerror or exc}") from None
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        )
        self._thread = threading.Thread(target=self._server.run, args=([self._sock],), daemon=True)
        self._openapi = orjson.dumps(openapi(self.methods.values()))

    def start(self) -> Gateway:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        log.info("Connect JSON gateway on port %d", self.port)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        self._sock.close()
        self._channel.close()

    async def openapi(self, request: Request) -> Response:
        return Response(self._openapi, media_type="application/json")

    async def handle(self, request: Request) -> Response:
        path = f"/{request.path_params['service']}/{request.path_params['method']}"
        method = self.methods.get(path)
        if method is None:
            return _error(grpc.StatusCode.UNIMPLEMENTED, f"{path}: no such method")
        if method.client_streaming:
            return _error(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{path} streams from the client: use gRPC, or ScoreUtterance and "
                "EndInteraction for a live call",
            )
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        wanted = "application/connect+json" if method.server_streaming else "application/json"
        if ctype != wanted:
            return JSONResponse(
                {"code": "unknown", "message": f"Content-Type must be {wanted}"},
                status_code=415,
            )
        body = await request.body()
        if method.server_streaming:  # the request is one enveloped message
            if len(body) < 5:
                return _error(grpc.StatusCode.INVALID_ARGUMENT, "expected an enveloped message")
            body = body[5 : 5 + struct.unpack(">I", body[1:5])[0]]
        try:
            message = json_format.Parse(body or b"{}", method.request_cls())
        except json_format.ParseError as exc:
            return _error(grpc.StatusCode.INVALID_ARGUMENT, f"request body: {exc}")
        metadata = tuple(
            (k, v) for k in _FORWARDED_HEADERS if (v := request.headers.get(k)) is not None
        )
        timeout = self.params.timeout_s
        if (ms := request.headers.get("connect-timeout-ms", "")).isdigit():
            timeout = int(ms) / 1000
        if method.server_streaming:
            return StreamingResponse(
                self._stream(method, message, metadata, timeout),
                media_type="application/connect+json",
            )
        try:
            reply = await asyncio.to_thread(
                method.call, message, timeout=timeout, metadata=metadata
            )
        except grpc.RpcError as exc:
            return _error(exc.code(), exc.details() or "")
        return Response(_json(reply), media_type="application/json")

    async def _stream(
        self, method: _Method, message: Any, metadata: tuple, timeout: float
    ) -> AsyncIterator[bytes]:
        call = method.call(message, timeout=timeout, metadata=metadata)
        replies: Iterator[Any] = iter(call)
        end: dict[str, Any] = {}
        try:
            while True:
                reply = await asyncio.to_thread(next, replies, None)
                if reply is None:
                    break
                yield _envelope(0, _json(reply))
        except grpc.RpcError as exc:
            end = {"error": {"code": exc.code().name.lower(), "message": exc.details() or ""}}
        finally:
            call.cancel()
        yield _envelope(_END_STREAM, orjson.dumps(end))


def _json(reply: Any) -> bytes:
    return json_format.MessageToJson(reply, indent=None).encode()


def _envelope(flags: int, payload: bytes) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


# -- OpenAPI from the descriptors ---------------------------------------------------------------

_SCALARS = {
    descriptor.FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    descriptor.FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    descriptor.FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    descriptor.FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    descriptor.FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    descriptor.FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32"},
    descriptor.FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    descriptor.FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    descriptor.FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    descriptor.FieldDescriptor.TYPE_STRING: {"type": "string"},
    descriptor.FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}


def _schema(field: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": _schema(value, schemas)}
        _add_message(field.message_type, schemas)
        one: dict[str, Any] = {"$ref": f"#/components/schemas/{field.message_type.full_name}"}
    elif field.enum_type is not None:
        one = {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    else:
        one = dict(_SCALARS.get(field.type, {"type": "string"}))
    if field.is_repeated:
        return {"type": "array", "items": one}
    return one


def _add_message(msg: Any, schemas: dict[str, Any]) -> None:
    if msg.full_name in schemas:
        return
    schemas[msg.full_name] = {}  # placeholder: recursive messages stop here
    props = {f.json_name: _schema(f, schemas) for f in msg.fields}
    schemas[msg.full_name] = {"type": "object", "properties": props}


def openapi(methods: Any) -> dict[str, Any]:
    """An OpenAPI 3.1 document of every unary and server-streaming method, from the descriptors."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error = {"$ref": "#/components/schemas/connect.Error"}
    for m in methods:
        if m.client_streaming:
            continue
        _add_message(m.request_cls.DESCRIPTOR, schemas)
        _add_message(m.response_cls.DESCRIPTOR, schemas)
        ctype = "application/connect+json" if m.server_streaming else "application/json"
        req = {"$ref": f"#/components/schemas/{m.request_cls.DESCRIPTOR.full_name}"}
        res = {"$ref": f"#/components/schemas/{m.response_cls.DESCRIPTOR.full_name}"}
        paths[m.path] = {
            "post": {
                "operationId": m.path.strip("/").replace("/", "."),
                "summary": "server stream of enveloped messages" if m.server_streaming else "",
                "requestBody": {"required": True, "content": {ctype: {"schema": req}}},
                "responses": {
                    "200": {"description": "OK", "content": {ctype: {"schema": res}}},
                    "default": {
                        "description": "a Connect error",
                        "content": {"application/json": {"schema": error}},
                    },
                },
            }
        }
    schemas["connect.Error"] = {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "vocscore (Connect JSON)", "version": "v1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
