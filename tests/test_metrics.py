"""The /metrics and /healthz HTTP endpoint: RPC counts and latencies, gauges, health, shutdown."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from clients.client import VocClient
from server import metrics
from server.app import Running, build_server
from tests.conftest import make_config


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(port: int) -> dict[tuple[str, frozenset], float]:
    status, body = http_get(port, "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def rpc(method: str, code: str, service: str = "voc.v1.Voc") -> frozenset:
    return frozenset({"grpc_service": service, "grpc_method": method, "grpc_code": code}.items())


def test_rpc_counts_and_latency_by_method_and_code(server: Running, client: VocClient) -> None:
    before = samples(server.metrics_port)
    for _ in range(3):
        client.card("metrics-c1")
    with pytest.raises(grpc.RpcError):
        client.card("")
    after = samples(server.metrics_port)
    ok = rpc("GetSummaryCard", "OK")
    bad = rpc("GetSummaryCard", "INVALID_ARGUMENT")
    handled = "vocscore_grpc_server_handled_total"
    assert after[(handled, ok)] - before.get((handled, ok), 0) == 3
    assert after[(handled, bad)] - before.get((handled, bad), 0) == 1
    count = after[("vocscore_grpc_server_handling_seconds_count", ok)]
    assert count == after[(handled, ok)]
    inf = ok | {("le", "+Inf")}
    assert after[("vocscore_grpc_server_handling_seconds_bucket", inf)] == count
    assert 0 < after[("vocscore_grpc_server_handling_seconds_sum", ok)] < count


def test_gauges_and_info(server: Running, client: VocClient) -> None:
    client.feedback("metrics-f1", "metrics-c2", "NPS", score=9)
    client.score("metrics-i1", "快递太慢了", customer_id="metrics-c2")
    now = samples(server.metrics_port)
    stats = client.stats()
    assert now[("vocscore_store_used_bytes", frozenset())] > 0
    assert now[("vocscore_store_map_bytes", frozenset())] == stats.map_size
    assert now[("vocscore_live_interactions", frozenset())] >= 1
    assert ("vocscore_interaction_streams", frozenset()) in now
    info = frozenset({"version": stats.lexicon_version}.items())
    assert now[("vocscore_lexicon_info", info)] == 1
    assert ("process_resident_memory_bytes", frozenset()) in now
    client.end_interaction("metrics-i1")


def test_trigger_counter_is_exposed_and_counts(server: Running) -> None:
    key = (
        "vocscore_triggers_fired_total",
        frozenset({"level": "P0", "kind": "AGENT_REPORTS"}.items()),
    )
    before = samples(server.metrics_port)[key]
    metrics.trigger_fired("P0", "AGENT_REPORTS")
    assert samples(server.metrics_port)[key] == before + 1


def test_unknown_paths_and_methods(server: Running, client: VocClient) -> None:
    assert http_get(server.metrics_port, "/nope")[0] == 404
    bogus = client.channel.unary_unary("/voc.v1.Voc/NoSuchMethod")
    with pytest.raises(grpc.RpcError) as info:
        bogus(b"", timeout=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    _, body = http_get(server.metrics_port, "/metrics")
    assert "NoSuchMethod" not in body  # a caller cannot mint label values


def test_healthz_follows_grpc_health_through_shutdown(tmp_path: Path) -> None:
    running = build_server(make_config(tmp_path / "store", server={"grace_s": 0.5}))
    port = running.metrics_port
    assert port
    assert http_get(port, "/healthz") == (200, "SERVING\n")
    running.set_serving(False)
    assert http_get(port, "/healthz") == (503, "NOT_SERVING\n")
    running.set_serving(True)
    running.health.enter_graceful_shutdown()
    assert http_get(port, "/healthz") == (503, "NOT_SERVING\n")
    running.stop(grace=0.1)
    with pytest.raises(urllib.error.URLError):
        http_get(port, "/healthz")


def test_metrics_can_be_turned_off_and_registries_are_separate(tmp_path: Path) -> None:
    off = build_server(make_config(tmp_path / "a", metrics={"listen": ""}))
    other = build_server(make_config(tmp_path / "b"))
    try:
        assert off.metrics_port == 0
        assert off.metrics.registry is not other.metrics.registry
        with VocClient(f"127.0.0.1:{off.port}") as c:
            c.card("only-on-a")
        ok = ("vocscore_grpc_server_handled_total", rpc("GetSummaryCard", "OK"))
        assert ok not in samples(other.metrics_port)
    finally:
        off.stop(grace=0.1)
        other.stop(grace=0.1)


def test_metrics_port_in_use_is_named(tmp_path: Path) -> None:
    import socket

    from server.app import StartupError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StartupError, match=f"metrics on 127.0.0.1:{port}"):
            build_server(make_config(tmp_path / "s", metrics={"listen": f"127.0.0.1:{port}"}))


def test_a_fired_p0_is_counted(server: Running, client: VocClient) -> None:
    key = (
        "vocscore_triggers_fired_total",
        frozenset({"level": "P0", "kind": "AGENT_REPORTS"}.items()),
    )
    before = samples(server.metrics_port)[key]
    acks = [client.report(f"metrics-r{n}", f"metrics-a{n}", "metrics tag") for n in range(10)]
    assert sum(a.HasField("trigger") for a in acks) == 1
    assert samples(server.metrics_port)[key] == before + 1
