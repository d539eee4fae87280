"""Turns domain errors into gRPC status codes: the one place a VocError meets the wire."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc

from server.errors import VocError

log = logging.getLogger(__name__)
_CODES = {name: getattr(grpc.StatusCode, name) for name in grpc.StatusCode.__members__}


def _abort(context: grpc.ServicerContext, exc: Exception, method: str) -> None:
    if isinstance(exc, VocError):
        context.abort(_CODES[exc.code], str(exc))
    log.exception("unhandled error in %s", method)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")


def _wrap_unary(behavior: Callable, method: str) -> Callable:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behavior(request, context)
        except Exception as exc:  # noqa: BLE001 - every error becomes a status
            if isinstance(exc, grpc.RpcError) or context.code() is not None:
                raise
            _abort(context, exc, method)

    return call


def _wrap_stream(behavior: Callable, method: str) -> Callable:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            yield from behavior(request, context)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, grpc.RpcError) or context.code() is not None:
                raise
            _abort(context, exc, method)

    return call


class ErrorInterceptor(grpc.ServerInterceptor):
    """Maps VocError subclasses to their status codes and anything else to INTERNAL."""

    def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith("/grpc."):
            return handler
        method = details.method
        if handler.unary_unary:
            return handler._replace(unary_unary=_wrap_unary(handler.unary_unary, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=_wrap_unary(handler.stream_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=_wrap_stream(handler.unary_stream, method))
        if handler.stream_stream:
            return handler._replace(stream_stream=_wrap_stream(handler.stream_stream, method))
        return handler
