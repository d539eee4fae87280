"""Server TLS credentials from the [tls] config section (mutual TLS when a client CA is set)."""

from __future__ import annotations

from pathlib import Path

import grpc

from server.config import ConfigError, TlsConfig


def _read(key: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"[tls] {key}: cannot read {path}: {exc.strerror or exc}") from None


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials | None:
    """None when TLS is off (no cert_file); raises ConfigError naming an unreadable file."""
    if not tls.cert_file:
        return None
    cert = _read("cert_file", tls.cert_file)
    key = _read("key_file", tls.key_file)
    client_ca = _read("client_ca_file", tls.client_ca_file) if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=tls.require_client_cert
    )
