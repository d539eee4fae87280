"""Domain errors, each knowing its gRPC status code by name; the one place codes are chosen."""

from __future__ import annotations


class VocError(Exception):
    """Base of every error a client may see; `code` is a grpc.StatusCode name."""

    code = "INTERNAL"


class InvalidArgument(VocError):
    """A request field is missing, malformed or out of range; the message names the field."""

    code = "INVALID_ARGUMENT"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class NotFound(VocError):
    code = "NOT_FOUND"


class AlreadyExists(VocError):
    """An idempotency key was reused for a different request."""

    code = "ALREADY_EXISTS"


class FailedPrecondition(VocError):
    code = "FAILED_PRECONDITION"


class ResourceExhausted(VocError):
    code = "RESOURCE_EXHAUSTED"


class Unavailable(VocError):
    """The service cannot take this call now (e.g. shutting down); retry elsewhere or later."""

    code = "UNAVAILABLE"


class StoreFullError(VocError):
    """The disk or the map is full: writes fail, reads go on."""

    code = "RESOURCE_EXHAUSTED"


class StoreUnavailableError(VocError):
    """The store cannot be opened or used."""

    code = "UNAVAILABLE"


# HTTP statuses for the same codes (the board's JSON API), as the Connect protocol maps them
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
}


def http_status(exc: VocError) -> int:
    return HTTP_STATUS.get(exc.code, 500)


class StartupError(Exception):
    """The server cannot start; the message says why and what to change."""
