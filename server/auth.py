"""Bearer-token authentication and role-based access per RPC; `python -m server.auth` hashes tokens."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import ipaddress
import json
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from clients.pb import admin_pb2, voc_pb2
from server.config import ConfigError

_VOC = voc_pb2.DESCRIPTOR.services_by_name["Voc"]
_ADMIN = admin_pb2.DESCRIPTOR.services_by_name["Admin"]


def _paths(service: Any, *names: str) -> tuple[str, ...]:
    """Full method paths as they arrive in HandlerCallDetails.method; a typo fails at import."""
    return tuple(f"/{service.full_name}/{service.methods_by_name[n].name}" for n in names)


# Which role may call which RPC. Health checking and reflection (/grpc.*) stay open to all.
ROLE_METHODS: Mapping[str, tuple[str, ...]] = {
    "cti": _paths(_VOC, "GetSummaryCard", "ScoreUtterance", "StreamInteraction", "EndInteraction"),
    "agent": _paths(_VOC, "ReportIssue", "GetAgentDashboard"),
    "survey": _paths(_VOC, "RecordFeedback"),
    "ops": _paths(_VOC, "WatchTriggers", "AckTrigger", "ListTriggers", "GetTriggerKpis")
    + _paths(_ADMIN, "GetStats"),
    "admin": _paths(_ADMIN, *(m.name for m in _ADMIN.methods)),
}
# An agent token with an agent_id may only name that agent in these requests' `agent_id`.
AGENT_BOUND = frozenset(_paths(_VOC, "GetAgentDashboard", "ReportIssue"))
_TOKEN_KEYS = ("name", "sha256", "roles", "agent_id", "max_concurrent", "max_streams")
DEFAULT_MAX_CONCURRENT = 64  # unary calls in flight per token; 0 in config = no limit
# open streams per token (live calls and watchers): a CTI gateway holds one per call in progress
DEFAULT_MAX_STREAMS = 2000


def hash_token(token: str) -> str:
    """The sha256 hex digest that goes into config in place of the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Token:
    """One configured caller: its name, the digest of its secret, roles and allowed methods."""

    name: str
    digest: bytes
    roles: tuple[str, ...]
    methods: frozenset[str]
    agent_id: str = ""
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    max_streams: int = DEFAULT_MAX_STREAMS


def load_tokens(section: Mapping[str, Any]) -> tuple[Token, ...]:
    """Tokens from the free-form [auth] section; raises ConfigError naming the entry and key."""
    unknown = set(section) - {"tokens"}
    if unknown:
        raise ConfigError(f"[auth] {sorted(unknown)[0]}: unknown key (known: tokens)")
    entries = section.get("tokens", [])
    if not isinstance(entries, list):
        raise ConfigError("[auth] tokens: expected an array of tables ([[auth.tokens]])")
    tokens: list[Token] = []
    for i, entry in enumerate(entries):
        where = f"[[auth.tokens]] #{i + 1}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table with name, sha256 and roles")
        for key in entry:
            if key not in _TOKEN_KEYS:
                raise ConfigError(f"{where} {key}: unknown key (known: {', '.join(_TOKEN_KEYS)})")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where} name: expected a non-empty string")
        where = f"[[auth.tokens]] {name!r}"
        digest = entry.get("sha256")
        try:
            if not isinstance(digest, str) or len(digest) != 64:
                raise ValueError
            raw = bytes.fromhex(digest)
        except ValueError:
            raise ConfigError(
                f"{where} sha256: expected 64 hex characters (python -m server.auth hash)"
            ) from None
        roles = entry.get("roles")
        if not isinstance(roles, list) or not roles or not all(r in ROLE_METHODS for r in roles):
            raise ConfigError(
                f"{where} roles: expected a non-empty list of {', '.join(ROLE_METHODS)}, got {roles!r}"
            )
        agent_id = entry.get("agent_id", "")
        if not isinstance(agent_id, str):
            raise ConfigError(f"{where} agent_id: expected a string")
        limits = []
        for key, default in (
            ("max_concurrent", DEFAULT_MAX_CONCURRENT),
            ("max_streams", DEFAULT_MAX_STREAMS),
        ):
            limit = entry.get(key, default)
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise ConfigError(f"{where} {key}: expected a whole number >= 0 (0: no limit)")
            limits.append(limit)
        if any(t.name == name for t in tokens):
            raise ConfigError(f"{where}: name used twice")
        if any(hmac.compare_digest(t.digest, raw) for t in tokens):
            raise ConfigError(f"{where} sha256: same token as another entry")
        methods = frozenset(m for r in roles for m in ROLE_METHODS[r])
        tokens.append(Token(name, raw, tuple(roles), methods, agent_id, *limits))
    return tuple(tokens)


def is_loopback(listen: str) -> bool:
    """True when HOST of HOST:PORT can only be reached from this machine."""
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AuthInterceptor:
    """Checks `authorization: Bearer <token>` against hashed tokens and the caller's roles."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        if not tokens:
            raise ValueError("AuthInterceptor needs at least one token; without tokens auth is off")
        self._tokens = tuple(tokens)
        # per-token gates: one caller cannot take every server thread; streams, which hold a
        # thread of their own pool for as long as they are open, are counted apart
        self._gates = {
            t.name: threading.BoundedSemaphore(t.max_concurrent) for t in tokens if t.max_concurrent
        }
        self._stream_gates = {
            t.name: threading.BoundedSemaphore(t.max_streams) for t in tokens if t.max_streams
        }

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The tokens in force now (SIGHUP may replace them)."""
        return self._tokens

    def replace(self, tokens: Sequence[Token]) -> None:
        """Takes a new set of tokens (a SIGHUP re-read the config): calls in flight keep their
        gates; a token whose limit is unchanged keeps its gate and its count of calls."""
        if not tokens:
            raise ValueError("replace: at least one token (auth cannot be turned off live)")
        old = {t.name: t for t in self._tokens}
        for gates, attr in ((self._gates, "max_concurrent"), (self._stream_gates, "max_streams")):
            fresh = {}
            for t in tokens:
                limit = getattr(t, attr)
                if not limit:
                    continue
                before = old.get(t.name)
                same = before is not None and getattr(before, attr) == limit and t.name in gates
                fresh[t.name] = gates[t.name] if same else threading.BoundedSemaphore(limit)
            gates.update(fresh)
            for name in [n for n in gates if n not in fresh]:
                del gates[name]
        self._tokens = tuple(tokens)

    def authenticate(self, metadata: Iterable[tuple[str, Any]] | None) -> Token | None:
        """The token whose hash matches the bearer secret, or None; one sha256 per call."""
        header = None
        for key, value in metadata or ():
            if key == "authorization":
                header = value
                break
        if not isinstance(header, str):
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            return None
        digest = hashlib.sha256(secret.strip().encode("utf-8")).digest()
        found = None
        # every configured hash is compared, so timing tells nothing about which one matched
        for token in self._tokens:
            if hmac.compare_digest(digest, token.digest):
                found = token
        return found

    def wrap_method(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """The handler behind this method's check: token, role, agent binding, concurrency."""
        if method.startswith("/grpc."):
            return handler  # health checking and reflection stay open
        bound = method in AGENT_BOUND
        long_lived = handler.response_streaming  # live-call streams and trigger watchers
        gates = self._stream_gates if long_lived else self._gates
        busy = _busy_streams if long_lived else _busy

        def admit(context: grpc.ServicerContext) -> Token:
            token = self.authenticate(context.invocation_metadata())
            if token is None:
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "missing or invalid bearer token (metadata authorization: Bearer <token>)",
                )
            if method not in token.methods:
                context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"token {token.name!r} (roles {', '.join(token.roles)}) may not call {method}",
                )
            return token

        def unary(behavior: Callable) -> Callable:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                token = admit(context)
                if bound and token.agent_id and request.agent_id != token.agent_id:
                    context.abort(
                        grpc.StatusCode.PERMISSION_DENIED,
                        f"agent_id: token {token.name!r} may only act for agent {token.agent_id!r}",
                    )
                gate = gates.get(token.name)
                if gate is None:
                    return behavior(request, context)
                if not gate.acquire(blocking=False):
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, busy(token))
                try:
                    return behavior(request, context)
                finally:
                    gate.release()

            return call

        def stream(behavior: Callable) -> Callable:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                token = admit(context)
                gate = gates.get(token.name)
                if gate is None:
                    yield from behavior(request, context)
                    return
                if not gate.acquire(blocking=False):
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, busy(token))
                try:
                    yield from behavior(request, context)
                finally:
                    gate.release()

            return call

        if handler.unary_unary:
            return handler._replace(unary_unary=unary(handler.unary_unary))
        if handler.stream_unary:
            return handler._replace(stream_unary=unary(handler.stream_unary))
        if handler.unary_stream:
            return handler._replace(unary_stream=stream(handler.unary_stream))
        return handler._replace(stream_stream=stream(handler.stream_stream))


def _busy(token: Token) -> str:
    return f"token {token.name!r}: more than {token.max_concurrent} calls in flight"


def _busy_streams(token: Token) -> str:
    return f"token {token.name!r}: more than {token.max_streams} open streams (max_streams)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.auth", description="make and hash vocscore bearer tokens"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "hash", help="read a token from stdin, print its sha256 line for [[auth.tokens]]"
    )
    new = sub.add_parser("new", help="make a random token: token on stderr, config on stdout")
    new.add_argument("--name", required=True, help="who uses the token, e.g. cti-gateway")
    new.add_argument("--role", action="append", required=True, choices=list(ROLE_METHODS))
    new.add_argument("--agent-id", default="", help="bind an agent token to one agent")
    args = parser.parse_args(argv)
    if args.command == "hash":
        token = sys.stdin.readline().strip()
        if not token:
            print("ValueError: no token on stdin", file=sys.stderr)
            return 1
        print(f'sha256 = "{hash_token(token)}"')
        return 0
    token = secrets.token_urlsafe(32)
    print(f"token for {args.name} (hand it over, keep no copy): {token}", file=sys.stderr)
    # JSON strings are valid TOML basic strings, so names with quotes stay well-formed
    lines = [
        "[[auth.tokens]]",
        f"name = {json.dumps(args.name)}",
        f'sha256 = "{hash_token(token)}"',
        f"roles = {json.dumps(sorted(set(args.role)))}",
    ]
    if args.agent_id:
        lines.append(f"agent_id = {json.dumps(args.agent_id)}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
