"""Bearer tokens and roles: every RPC x every role, agent binding, open health, refused open ports."""

from __future__ import annotations

import io
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from clients.client import VocClient
from clients.pb import admin_pb2, admin_pb2_grpc, voc_pb2, voc_pb2_grpc
from server import auth
from server.app import Running, StartupError, build_server
from server.config import ConfigError
from tests.conftest import make_config

ROLES = ("cti", "agent", "survey", "ops", "admin")
SECRETS = {role: f"test-{role}-secret-0123456789" for role in ROLES}
BOUND_SECRET = "test-agent-A001-secret-0123456789"
PASSED, UNAUTHENTICATED, DENIED = "passed auth", "UNAUTHENTICATED", "PERMISSION_DENIED"

# The contract, written out rather than read from server.auth, so a change to either shows here.
ALLOWED = {
    "Voc/GetSummaryCard": {"cti"},
    "Voc/ScoreUtterance": {"cti"},
    "Voc/StreamInteraction": {"cti"},
    "Voc/EndInteraction": {"cti"},
    "Voc/RecordFeedback": {"survey"},
    "Voc/GetAgentDashboard": {"agent"},
    "Voc/ReportIssue": {"agent"},
    "Voc/WatchTriggers": {"ops"},
    "Voc/AckTrigger": {"ops"},
    "Voc/ListTriggers": {"ops"},
    "Voc/GetTriggerKpis": {"ops"},
    "Admin/UpsertProfiles": {"admin"},
    "Admin/ReloadLexicons": {"admin"},
    "Admin/GetStats": {"ops", "admin"},
}


def token_entry(name: str, secret: str, roles: list[str], **extra: str) -> dict[str, Any]:
    return {"name": name, "sha256": auth.hash_token(secret), "roles": roles, **extra}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tokens = [token_entry(f"{role}-test", SECRETS[role], [role]) for role in ROLES]
    tokens.append(token_entry("agent-A001", BOUND_SECRET, ["agent"], agent_id="A001"))
    tokens.append(token_entry("desk", "test-desk-secret-0123456789", ["cti", "survey"]))
    cfg = make_config(tmp_path_factory.mktemp("store"), auth={"tokens": tokens})
    running = build_server(cfg)
    try:
        yield running
    finally:
        running.stop(grace=0.5)


@pytest.fixture(scope="module")
def channel(secured: Running) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        VocClient(f"127.0.0.1:{secured.port}").wait_until_serving()
        yield ch


def _drain(responses: Iterator[Any]) -> None:
    for _ in responses:
        pass


def calls(channel: grpc.Channel) -> dict[str, Callable[[Any], None]]:
    """Minimal requests per RPC; what matters is only whether auth let them through."""
    voc, admin = voc_pb2_grpc.VocStub(channel), admin_pb2_grpc.AdminStub(channel)
    utterance = voc_pb2.Utterance(interaction_id="auth-i1", customer_id="c1", text="hello")
    return {
        "Voc/GetSummaryCard": lambda md: voc.GetSummaryCard(
            voc_pb2.CardRequest(customer_id="c1"), metadata=md, timeout=5
        ),
        "Voc/ScoreUtterance": lambda md: voc.ScoreUtterance(utterance, metadata=md, timeout=5),
        "Voc/StreamInteraction": lambda md: _drain(
            voc.StreamInteraction(iter([]), metadata=md, timeout=5)
        ),
        "Voc/EndInteraction": lambda md: voc.EndInteraction(
            voc_pb2.EndInteractionRequest(interaction_id="auth-none"), metadata=md, timeout=5
        ),
        "Voc/RecordFeedback": lambda md: voc.RecordFeedback(
            voc_pb2.Feedback(), metadata=md, timeout=5
        ),
        "Voc/GetAgentDashboard": lambda md: voc.GetAgentDashboard(
            voc_pb2.AgentRequest(agent_id="A002"), metadata=md, timeout=5
        ),
        "Voc/ReportIssue": lambda md: voc.ReportIssue(
            voc_pb2.IssueReport(), metadata=md, timeout=5
        ),
        # a stream that passed auth waits for triggers: its deadline ends it
        "Voc/WatchTriggers": lambda md: _drain(
            voc.WatchTriggers(voc_pb2.WatchRequest(), metadata=md, timeout=0.3)
        ),
        "Voc/AckTrigger": lambda md: voc.AckTrigger(
            voc_pb2.AckTriggerRequest(trigger_id="no-such-trigger"), metadata=md, timeout=5
        ),
        "Voc/GetTriggerKpis": lambda md: voc.GetTriggerKpis(
            voc_pb2.KpiRequest(), metadata=md, timeout=5
        ),
        "Voc/ListTriggers": lambda md: voc.ListTriggers(
            voc_pb2.ListTriggersRequest(limit=1), metadata=md, timeout=5
        ),
        "Admin/UpsertProfiles": lambda md: admin.UpsertProfiles(iter([]), metadata=md, timeout=5),
        "Admin/ReloadLexicons": lambda md: admin.ReloadLexicons(
            admin_pb2.ReloadRequest(), metadata=md, timeout=30
        ),
        "Admin/GetStats": lambda md: admin.GetStats(
            admin_pb2.StatsRequest(), metadata=md, timeout=5
        ),
    }


# what a request that got past auth may meet: its own validation, or (streams) the deadline
_PAST_AUTH = {"INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "DEADLINE_EXCEEDED"}


def outcome(call: Callable[[Any], None], metadata: Any) -> str:
    """PASSED, UNAUTHENTICATED, PERMISSION_DENIED, or the unexpected code itself."""
    try:
        call(metadata)
    except grpc.RpcError as exc:
        code = exc.code().name
        return PASSED if code in _PAST_AUTH else code
    return PASSED


def bearer(secret: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {secret}"),)


def test_matrix_covers_every_rpc() -> None:
    listed = {
        f"{s.name}/{m.name}"
        for s in (
            voc_pb2.DESCRIPTOR.services_by_name["Voc"],
            admin_pb2.DESCRIPTOR.services_by_name["Admin"],
        )
        for m in s.methods
    }
    assert listed == set(ALLOWED)
    granted = {
        path.removeprefix("/voc.v1."): {r for r, ms in auth.ROLE_METHODS.items() if path in ms}
        for ms in auth.ROLE_METHODS.values()
        for path in ms
    }
    assert granted == ALLOWED


@pytest.mark.parametrize("rpc", sorted(ALLOWED))
@pytest.mark.parametrize("caller", [*ROLES, "no token", "bad token", "not bearer"])
def test_auth_matrix(channel: grpc.Channel, rpc: str, caller: str) -> None:
    metadata = {
        "no token": None,
        "bad token": bearer("not-a-configured-token"),
        "not bearer": (("authorization", f"Basic {SECRETS['admin']}"),),
        **{role: bearer(secret) for role, secret in SECRETS.items()},
    }[caller]
    if caller in ROLES:
        expected = PASSED if caller in ALLOWED[rpc] else DENIED
    else:
        expected = UNAUTHENTICATED
    assert outcome(calls(channel)[rpc], metadata) == expected


def test_token_with_two_roles_has_both(channel: grpc.Channel) -> None:
    rpcs = calls(channel)
    md = bearer("test-desk-secret-0123456789")
    assert outcome(rpcs["Voc/GetSummaryCard"], md) == PASSED
    assert outcome(rpcs["Voc/RecordFeedback"], md) == PASSED
    assert outcome(rpcs["Admin/GetStats"], md) == DENIED


def test_refusal_names_token_and_method(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        calls(channel)["Admin/GetStats"](bearer(SECRETS["cti"]))
    assert "cti-test" in info.value.details() and "/voc.v1.Admin/GetStats" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        calls(channel)["Admin/GetStats"](bearer("wrong"))
    assert "cti-test" not in info.value.details()


def test_health_and_reflection_are_open(secured: Running, channel: grpc.Channel) -> None:
    with VocClient(f"127.0.0.1:{secured.port}") as client:
        assert client.health() == "SERVING"
        assert client.health("voc.v1.Voc") == "SERVING"
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert "voc.v1.Voc" in names


def test_agent_token_is_bound_to_its_agent(secured: Running) -> None:
    target = f"127.0.0.1:{secured.port}"
    with VocClient(target, token=BOUND_SECRET) as own, VocClient(target) as anonymous:
        assert own.dashboard("A001").agent_id == "A001"
        with pytest.raises(grpc.RpcError) as info:
            own.dashboard("A002")
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "A001" in info.value.details()
        report = voc_pb2.IssueReport(report_id="auth-r1", agent_id="A001", tag="payment failed")
        ack = own.voc.ReportIssue(report, metadata=bearer(BOUND_SECRET), timeout=5)
        assert ack.distinct_agents == 1
        for other in ("A002", ""):
            report = voc_pb2.IssueReport(report_id="auth-r2", agent_id=other, tag="payment failed")
            with pytest.raises(grpc.RpcError) as info:
                own.voc.ReportIssue(report, metadata=bearer(BOUND_SECRET), timeout=5)
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as info:
            anonymous.dashboard("A001")
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # an unbound agent token may read any dashboard
    with VocClient(target, token=SECRETS["agent"]) as desk:
        assert desk.dashboard("A002").agent_id == "A002"


def test_no_tokens_means_auth_off(client: VocClient) -> None:
    assert client.stats().customers >= 0


# -- config and start-up -----------------------------------------------------------------


def test_load_tokens_checks_every_field() -> None:
    good = token_entry("cti-gateway", "s" * 32, ["cti"])
    assert auth.load_tokens({"tokens": [good]})[0].roles == ("cti",)
    assert auth.load_tokens({}) == ()
    other = {**good, "sha256": auth.hash_token("other")}
    bad_cases = [
        ("sha256", {"tokens": [{**good, "sha256": "abc"}]}),
        ("roles", {"tokens": [{**good, "roles": ["root"]}]}),
        ("roles", {"tokens": [{**good, "roles": []}]}),
        ("colour: unknown key", {"tokens": [{**good, "colour": "red"}]}),
        ("name", {"tokens": [{**good, "name": ""}]}),
        ("name used twice", {"tokens": [good, other]}),
        ("same token", {"tokens": [good, {**good, "name": "other"}]}),
        ("token: unknown key", {"token": []}),
        ("array of tables", {"tokens": "abc"}),
    ]
    for needle, section in bad_cases:
        with pytest.raises(ConfigError, match=needle):
            auth.load_tokens(section)


def test_config_file_never_holds_the_token(tmp_path: Path) -> None:
    from server.config import load_config

    path = tmp_path / "voc.toml"
    path.write_text(
        "[[auth.tokens]]\n"
        'name = "cti-gateway"\n'
        f'sha256 = "{auth.hash_token("gateway-secret-0123456789")}"\n'
        'roles = ["cti"]\n'
    )
    cfg = load_config(path, env={})
    (token,) = auth.load_tokens(cfg.auth)
    assert token.name == "cti-gateway" and "gateway-secret" not in path.read_text()


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1:1", True),
        ("127.8.0.1:1", True),
        ("localhost:1", True),
        ("[::1]:1", True),
        ("0.0.0.0:1", False),
        ("[::]:1", False),
        ("10.1.2.3:1", False),
        ("voc.example.com:1", False),
    ],
)
def test_is_loopback(listen: str, loopback: bool) -> None:
    assert auth.is_loopback(listen) is loopback


def test_open_address_without_tokens_is_refused(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "store", server={"listen": "0.0.0.0:0"})
    with pytest.raises(StartupError) as info:
        build_server(cfg)
    message = str(info.value)
    assert "0.0.0.0:0" in message and "[[auth.tokens]]" in message and "--insecure" in message
    assert not (tmp_path / "store").exists()  # refused before anything was opened


def test_main_says_why_it_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from server.app import main

    assert main(["--listen", "0.0.0.0:0", "--store", str(tmp_path / "store")]) == 1
    assert "StartupError: refusing to serve 0.0.0.0:0" in capsys.readouterr().err


@pytest.mark.parametrize("opening", ["insecure", "tokens"])
def test_open_address_starts_when_told_or_with_tokens(tmp_path: Path, opening: str) -> None:
    sections: dict[str, dict[str, Any]] = {"server": {"listen": "0.0.0.0:0"}}
    if opening == "insecure":
        sections["server"]["insecure"] = True
    else:
        sections["auth"] = {"tokens": [token_entry("cti", SECRETS["cti"], ["cti"])]}
    running = build_server(make_config(tmp_path / "store", **sections))
    running.stop(grace=0)  # bound only for a moment, and no traffic is sent to it
    assert running.port > 0


def test_bad_auth_config_is_a_startup_error(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "store", auth={"tokens": [{"name": "x", "roles": ["cti"]}]})
    with pytest.raises(StartupError, match="sha256"):
        build_server(cfg)


# -- python -m server.auth ---------------------------------------------------------------


def test_hash_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("my-secret-token\n"))
    assert auth.main(["hash"]) == 0
    assert capsys.readouterr().out == f'sha256 = "{auth.hash_token("my-secret-token")}"\n'
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert auth.main(["hash"]) == 1


def test_new_command_prints_config(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["new", "--name", 'desk "7"', "--role", "agent", "--agent-id", "A007"]
    assert auth.main(argv) == 0
    out, err = capsys.readouterr()
    (token,) = auth.load_tokens(tomllib.loads(out)["auth"])
    secret = err.rsplit(" ", 1)[-1].strip()
    assert token.name == 'desk "7"' and token.agent_id == "A007" and secret not in out
    assert token.digest.hex() == auth.hash_token(secret)


def test_per_token_stream_limit_is_counted_apart_from_unary_calls(tmp_path: Path) -> None:
    secret = "test-ops-limited-secret-0123456789"
    entry = token_entry("ops-limited", secret, ["ops"], max_concurrent=1, max_streams=1)
    running = build_server(make_config(tmp_path / "store", auth={"tokens": [entry]}))
    meta = (("authorization", f"Bearer {secret}"),)
    try:
        with VocClient(f"127.0.0.1:{running.port}", token=secret) as client:
            client.wait_until_serving()
            first = client.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=10, metadata=meta)
            first.initial_metadata()  # admitted: the token's one stream slot is taken
            client.list_triggers()  # an open stream does not take the unary slot
            second = client.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=10, metadata=meta)
            with pytest.raises(grpc.RpcError) as refused:
                next(second)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "ops-limited" in refused.value.details()
            assert "max_streams" in refused.value.details()
            first.cancel()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the slot comes back when the stream ends
                # admitted, the stream waits for triggers until its deadline; refused, it ends at once
                third = client.voc.WatchTriggers(voc_pb2.WatchRequest(), timeout=1, metadata=meta)
                with pytest.raises(grpc.RpcError) as ended:
                    next(third)
                if ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the token's stream slot was not released")
    finally:
        running.stop(grace=0.2)


def test_bad_concurrency_limit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_concurrent"):
        auth.load_tokens({"tokens": [token_entry("x", "s" * 20, ["ops"], max_concurrent=-1)]})
