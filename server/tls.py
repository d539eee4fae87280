"""Server TLS credentials from the [tls] config section (mutual TLS when a client CA is set)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import grpc

from server.config import ConfigError, TlsConfig


def _read(key: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"[tls] {key}: cannot read {path}: {exc.strerror or exc}") from None


log = logging.getLogger(__name__)


class _CertFiles:
    """The [tls] files, read again when one changes on disk: a renewed certificate is served
    from the next handshake on, with no restart (grpc's dynamic server credentials)."""

    def __init__(self, tls: TlsConfig) -> None:
        self.tls = tls
        self.files = [("cert_file", tls.cert_file), ("key_file", tls.key_file)]
        if tls.client_ca_file:
            self.files.append(("client_ca_file", tls.client_ca_file))
        self._seen = self._stamps()

    def _stamps(self) -> tuple:
        stamps = []
        for _, path in self.files:
            try:
                st = os.stat(path)
                stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def config(self) -> grpc.ServerCertificateConfiguration:
        data = {key: _read(key, path) for key, path in self.files}
        return grpc.ssl_server_certificate_configuration(
            [(data["key_file"], data["cert_file"])], root_certificates=data.get("client_ca_file")
        )

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by grpc before each handshake: a new configuration when the files changed."""
        stamps = self._stamps()
        if stamps == self._seen:
            return None
        try:
            fresh = self.config()
        except ConfigError as exc:  # half-written files: keep serving the old certificate
            log.error("TLS files changed but cannot be read, keeping the old ones: %s", exc)
            return None
        self._seen = stamps
        log.info("TLS certificate files changed: serving them from the next handshake")
        return fresh


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials | None:
    """None when TLS is off (no cert_file); raises ConfigError naming an unreadable file."""
    if not tls.cert_file:
        return None
    files = _CertFiles(tls)
    return grpc.dynamic_ssl_server_credentials(
        files.config(), files.fetch, require_client_authentication=tls.require_client_cert
    )
