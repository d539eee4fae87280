"""TLS and mutual TLS with throwaway certificates: the right CA connects, everything else fails."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clients.cli import main as cli
from clients.client import VocClient
from server.app import Running, StartupError, build_server
from server.auth import hash_token
from server.config import ConfigError
from tests.conftest import make_config

TOKEN = "tls-test-cti-secret-0123456789"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    usage: ExtendedKeyUsageOID | None = None,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _write(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (folder / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca, server (127.0.0.1 and localhost), client (signed by ca) and a stranger's CA."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("vocscore test CA", ca_key, None, ca=True)
    _write(folder, "ca", ca, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = _issue(
        "localhost",
        server_key,
        (ca, ca_key),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        san=server_san,
    )
    _write(folder, "server", server, server_key)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue("cti-gateway", client_key, (ca, ca_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    _write(folder, "client", client, client_key)
    other_key = ec.generate_private_key(ec.SECP256R1())
    _write(folder, "other-ca", _issue("someone else", other_key, None, ca=True), other_key)
    return folder


def _serve(store: Path, pki: Path, **tls: object) -> Running:
    section = {"cert_file": str(pki / "server.crt"), "key_file": str(pki / "server.key"), **tls}
    tokens = [{"name": "cti-test", "sha256": hash_token(TOKEN), "roles": ["cti"]}]
    return build_server(make_config(store, tls=section, auth={"tokens": tokens}))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Path) -> Iterator[Running]:
    running = _serve(tmp_path_factory.mktemp("store"), pki)
    try:
        yield running
    finally:
        running.stop(grace=0.5)


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, pki: Path) -> Iterator[Running]:
    running = _serve(
        tmp_path_factory.mktemp("store"),
        pki,
        client_ca_file=str(pki / "ca.crt"),
        require_client_cert=True,
    )
    try:
        yield running
    finally:
        running.stop(grace=0.5)


def _fails(client: VocClient) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        client.health(timeout=2)
    return info.value.code()


def test_client_with_the_ca_connects(tls_server: Running, pki: Path) -> None:
    for host in ("127.0.0.1", "localhost"):
        with VocClient(f"{host}:{tls_server.port}", ca_file=pki / "ca.crt", token=TOKEN) as c:
            assert c.health() == "SERVING"
            assert c.card("C-tls").customer_id == "C-tls"


def test_plaintext_and_wrong_ca_fail(tls_server: Running, pki: Path) -> None:
    target = f"127.0.0.1:{tls_server.port}"
    with VocClient(target) as plaintext:
        assert _fails(plaintext) == grpc.StatusCode.UNAVAILABLE
    with VocClient(target, ca_file=pki / "other-ca.crt") as stranger:
        assert _fails(stranger) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_cert(mtls_server: Running, pki: Path) -> None:
    target = f"127.0.0.1:{mtls_server.port}"
    cert = (pki / "client.crt", pki / "client.key")
    with VocClient(target, ca_file=pki / "ca.crt", client_cert=cert, token=TOKEN) as c:
        assert c.health() == "SERVING"
        assert c.card("C-mtls").customer_id == "C-mtls"
    with VocClient(target, ca_file=pki / "ca.crt") as no_cert:
        assert _fails(no_cert) == grpc.StatusCode.UNAVAILABLE
    with VocClient(target) as plaintext:
        assert _fails(plaintext) == grpc.StatusCode.UNAVAILABLE


def test_cli_with_ca_file_and_token(
    tls_server: Running, pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--target", f"127.0.0.1:{tls_server.port}", "--ca-file", str(pki / "ca.crt")]
    assert cli([*base, "health"]) == 0
    assert cli([*base, "--token", TOKEN, "--json", "card", "C-cli"]) == 0
    assert '"customer_id": "C-cli"' in capsys.readouterr().out
    assert cli([*base, "card", "C-cli"]) == 1
    assert "UNAUTHENTICATED" in capsys.readouterr().err


def test_cli_with_client_cert(
    mtls_server: Running, pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--target", f"127.0.0.1:{mtls_server.port}", "--ca-file", str(pki / "ca.crt")]
    cert = ["--cert", str(pki / "client.crt"), "--key", str(pki / "client.key")]
    assert cli([*base, *cert, "health"]) == 0
    assert cli([*base, "--cert", str(pki / "client.crt"), "health"]) == 2
    assert "--key" in capsys.readouterr().err
    assert cli([*base, "health"]) == 1


def test_tls_config_is_checked(tmp_path: Path, pki: Path) -> None:
    with pytest.raises(ConfigError, match="cert_file, key_file"):
        make_config(tmp_path / "s", tls={"cert_file": str(pki / "server.crt")})
    with pytest.raises(ConfigError, match="require_client_cert"):
        make_config(
            tmp_path / "s",
            tls={
                "cert_file": str(pki / "server.crt"),
                "key_file": str(pki / "server.key"),
                "require_client_cert": True,
            },
        )
    missing = make_config(
        tmp_path / "s", tls={"cert_file": str(tmp_path / "nope.crt"), "key_file": "x.key"}
    )
    with pytest.raises(StartupError, match="nope.crt"):
        build_server(missing)


def test_a_renewed_certificate_is_served_without_a_restart(tmp_path: Path, pki: Path) -> None:
    """The server's files are replaced by a certificate from another CA: new connections get it."""
    folder = tmp_path / "live"
    folder.mkdir()
    for name in ("server.crt", "server.key"):
        (folder / name).write_bytes((pki / name).read_bytes())
    running = _serve(tmp_path / "store", folder)
    target = f"127.0.0.1:{running.port}"
    try:
        with VocClient(target, token=TOKEN, ca_file=pki / "ca.crt") as c:
            assert c.health(timeout=5) == "SERVING"
        new_ca_key = ec.generate_private_key(ec.SECP256R1())
        new_ca = _issue("renewed CA", new_ca_key, None, ca=True)
        _write(tmp_path, "new-ca", new_ca, new_ca_key)
        key = ec.generate_private_key(ec.SECP256R1())
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = _issue(
            "localhost", key, (new_ca, new_ca_key), usage=ExtendedKeyUsageOID.SERVER_AUTH, san=san
        )
        _write(folder, "server", cert, key)  # the renewal, as certbot or an operator writes it
        with VocClient(target, token=TOKEN, ca_file=tmp_path / "new-ca.crt") as c:
            assert c.health(timeout=5) == "SERVING"
        with VocClient(target, token=TOKEN, ca_file=pki / "ca.crt") as c:
            with pytest.raises(grpc.RpcError) as old:
                c.health(timeout=3)
            assert old.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop(grace=0.2)
