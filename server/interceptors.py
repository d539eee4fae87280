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


MethodWrapper = Callable[[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler]


class WrappedRegistration:
    """Stands in for the grpc server while servicers register: every method handler is wrapped
    once by each concern (metrics, auth, errors), outermost first. grpcio's own interceptors run
    a Python pipeline on every call instead, which measured ~45 us of server CPU per call here."""

    def __init__(
        self,
        server: grpc.Server,
        wrappers: list[MethodWrapper],
        place: MethodWrapper | None = None,
    ) -> None:
        self._server = server
        self._wrappers = wrappers
        self._place = place

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        for wrapper in reversed(self._wrappers):
            handler = wrapper(method, handler)
        # the thread pool is read off the outermost behavior, so it is set last
        return handler if self._place is None else self._place(method, handler)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self._server.add_registered_method_handlers(
            service, {name: self.wrap(f"/{service}/{name}", h) for name, h in handlers.items()}
        )

    def add_generic_rpc_handlers(self, generic_handlers: Any) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_WrappedGeneric(g, self.wrap) for g in generic_handlers)
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class _WrappedGeneric(grpc.GenericRpcHandler):
    """A generic handler (used when a method is not registered) whose handlers are wrapped once."""

    def __init__(self, inner: grpc.GenericRpcHandler, wrap: MethodWrapper) -> None:
        self._inner = inner
        self._wrap = wrap
        self._done: dict[str, tuple[Any, Any]] = {}

    def service(self, details: grpc.HandlerCallDetails) -> Any:
        handler = self._inner.service(details)
        if handler is None:
            return None
        entry = self._done.get(details.method)
        if entry is None or entry[0] is not handler:
            entry = (handler, self._wrap(details.method, handler))
            if len(self._done) < 1024:  # one entry per known method
                self._done[details.method] = entry
        return entry[1]


class ErrorInterceptor:
    """Maps VocError subclasses to their status codes and anything else to INTERNAL; request
    bytes that do not parse are INVALID_ARGUMENT (grpc itself would answer INTERNAL)."""

    def __init__(self) -> None:
        self._parsers: dict[Callable, Callable] = {}

    def wrap_method(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if method.startswith("/grpc."):
            return handler
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
