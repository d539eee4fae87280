"""Turns domain errors into gRPC status codes: the one place a VocError meets the wire."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc

from server.errors import InvalidArgument, VocError

log = logging.getLogger(__name__)
_CODES = {name: getattr(grpc.StatusCode, name) for name in grpc.StatusCode.__members__}


def _abort(context: grpc.ServicerContext, exc: Exception, method: str) -> None:
    if isinstance(exc, VocError):
        context.abort(_CODES[exc.code], str(exc))
    log.exception("unhandled error in %s", method)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")


class _Undecodable:
    """Stands for request bytes the generated parser rejected; grpc would answer INTERNAL."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _lenient(parse: Callable) -> Callable:
    message_type = getattr(parse, "__self__", None)
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    undecodable = _Undecodable(descriptor.full_name if descriptor else "protobuf")

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception:  # noqa: BLE001 - garbage from the caller, not a server fault
            return undecodable

    return deserialize


def _decoded(request: Any) -> Any:
    if type(request) is _Undecodable:
        raise InvalidArgument("request", f"is not a valid {request.message} message")
    return request


def _decoded_stream(requests: Any) -> Any:
    for request in requests:
        yield _decoded(request)


def _wrap_unary(behavior: Callable, method: str, streaming: bool = False) -> Callable:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            request = _decoded_stream(request) if streaming else _decoded(request)
            return behavior(request, context)
        except Exception as exc:  # noqa: BLE001 - every error becomes a status
            if isinstance(exc, grpc.RpcError) or context.code() is not None:
                raise
            _abort(context, exc, method)

    return call


def _wrap_stream(behavior: Callable, method: str, streaming: bool = False) -> Callable:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            request = _decoded_stream(request) if streaming else _decoded(request)
            yield from behavior(request, context)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, grpc.RpcError) or context.code() is not None:
                raise
            _abort(context, exc, method)

    return call


class HandlerCache:
    """Wraps each method handler once: grpc calls intercept_service on every RPC, and building
    closures and namedtuples there costs microseconds per call that a cache lookup does not."""

    __slots__ = ("_wrapped",)

    def __init__(self) -> None:
        self._wrapped: dict[int, tuple[Any, Any]] = {}

    def get(self, handler: Any, wrap: Callable[[Any], Any]) -> Any:
        entry = self._wrapped.get(id(handler))
        if entry is not None and entry[0] is handler:
            return entry[1]
        wrapped = wrap(handler)
        if len(self._wrapped) < 1024:  # handlers are per method: a bound, never a leak
            self._wrapped[id(handler)] = (
                handler,
                wrapped,
            )  # keeps `handler` alive: ids stay unique
        return wrapped


class ErrorInterceptor(grpc.ServerInterceptor):
    """Maps VocError subclasses to their status codes and anything else to INTERNAL; request
    bytes that do not parse are INVALID_ARGUMENT (grpc itself would answer INTERNAL)."""

    def __init__(self) -> None:
        self._parsers: dict[Callable, Callable] = {}
        self._cache = HandlerCache()

    def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith("/grpc."):
            return handler
        method = details.method
        return self._cache.get(handler, lambda h: self._wrap(h, method))

    def _wrap(self, handler: Any, method: str) -> Any:
        parse = handler.request_deserializer
        if parse is not None:
            lenient = self._parsers.get(parse)
            if lenient is None:
                lenient = self._parsers.setdefault(parse, _lenient(parse))
            handler = handler._replace(request_deserializer=lenient)
        if handler.unary_unary:
            return handler._replace(unary_unary=_wrap_unary(handler.unary_unary, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=_wrap_unary(handler.stream_unary, method, True))
        if handler.unary_stream:
            return handler._replace(unary_stream=_wrap_stream(handler.unary_stream, method))
        if handler.stream_stream:
            return handler._replace(stream_stream=_wrap_stream(handler.stream_stream, method, True))
        return handler
