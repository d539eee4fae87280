"""Papercuts a first run found (issue 14): each one as a new user would hit it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from clients.cli import main as cli
from clients.client import DEFAULT_TARGET, VocClient
from server.app import Running, build_server
from server.card import assemble_card
from server.config import CardConfig, ConfigError, load_config
from server.profiles import DAY_MS, add_event, new_profile
from server.tags import normalize_tag
from tests.conftest import make_config
from tests.test_tls import pki, tls_server  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lexdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lex")
    (folder / "zh").mkdir()
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, lexdir: Path) -> Iterator[Running]:
    store = tmp_path_factory.mktemp("store")
    running = build_server(make_config(store, lexicons={"extra_dirs": (str(lexdir),)}))
    try:
        yield running
    finally:
        running.stop(grace=0.5)


@pytest.fixture(scope="module")
def target(server: Running) -> list[str]:
    with VocClient(f"127.0.0.1:{server.port}") as c:
        c.wait_until_serving()
    return ["--target", f"127.0.0.1:{server.port}"]


@pytest.fixture
def client(server: Running) -> Iterator[VocClient]:
    with VocClient(f"127.0.0.1:{server.port}", timeout=10.0) as c:
        yield c


# -- feedback ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["NPS", "CSAT"])
def test_score_kinds_without_a_score_are_refused_naming_score(client: VocClient, kind) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.feedback(f"no-score-{kind}", "ps-1", kind, agent_id="A1")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith("score: ")
    card = client.card("ps-1")
    assert not card.known  # nothing was stored


def test_nps_zero_given_explicitly_is_stored(client: VocClient) -> None:
    client.feedback("nps-zero", "ps-2", "NPS", score=0)
    assert client.card("ps-2").nps.score == 0


def test_cli_feedback_nps_without_score_exits_1_naming_score(target, capsys) -> None:
    assert cli([*target, "feedback", "ps-3", "nps"]) == 1
    assert capsys.readouterr().err.startswith("INVALID_ARGUMENT: score")


# -- reload --------------------------------------------------------------------------------


def test_failed_reload_is_failed_precondition_with_file_and_line(
    client: VocClient, lexdir: Path
) -> None:
    bad = lexdir / "zh" / "topics.tsv"
    bad.write_text(
        "term\ttopic\tweight\tpolarity\tnotes\n退款慢\tno.such.topic\t0.9\tcomplaint\t\n"
    )
    try:
        with pytest.raises(grpc.RpcError) as err:
            client.reload_lexicons()
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert f"{bad}:2:" in err.value.details()
    finally:
        bad.unlink()
    assert client.reload_lexicons().version  # and it works again once fixed


# -- the CLI's connection hints --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_hints_at_target(capsys) -> None:
    assert cli(["--target", f"127.0.0.1:{_free_port()}", "--timeout", "2", "health"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("UNAVAILABLE") and "--target" in err and "VOC_TARGET" in err


def test_plaintext_against_tls_hints_at_tls(tls_server: Running, capsys) -> None:  # noqa: F811
    assert cli(["--target", f"127.0.0.1:{tls_server.port}", "--timeout", "3", "health"]) == 1
    err = capsys.readouterr().err
    assert "--ca-file" in err and "TLS" in err


# -- interactions -------------------------------------------------------------------------


def test_customer_only_on_the_first_utterance(target, capsys) -> None:
    first = [*target, "score", "快递三天了还没到", "--interaction", "ps-call-1"]
    assert cli([*first, "--customer", "ps-c1"]) == 0
    capsys.readouterr()
    assert cli([*target, "score", "还是没到", "--interaction", "ps-call-1"]) == 0
    assert cli([*target, "score", "你好", "--interaction", "ps-call-2"]) == 1
    assert "customer_id: is required on the first utterance" in capsys.readouterr().err


# -- configuration and start-up --------------------------------------------------------------


def test_mistyped_voc_variable_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="VOC_SERVR_LISTEN"):
        load_config(None, env={"VOC_SERVR_LISTEN": "127.0.0.1:1"})
    with pytest.raises(ConfigError, match="VOC_SERVER_LISTN"):
        load_config(None, env={"VOC_SERVER_LISTN": "127.0.0.1:1"})
    # the client's own variables are not the server's business
    load_config(None, env={"VOC_TARGET": "x:1", "VOC_TOKEN": "t", "VOC_CA_FILE": "ca"})


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    return {**env, "PYTHONPATH": str(ROOT), "VOC_METRICS_LISTEN": "", **extra}


def test_server_exits_2_on_mistyped_variable(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--store", str(tmp_path / "s")],
        env=_env(VOC_SERVER_THREDS="4"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "VOC_SERVER_THREDS" in proc.stderr


def test_banner_only_after_the_port_is_bound(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "server", "--listen", f"127.0.0.1:{port}"],
            env=_env(VOC_STORE_PATH=str(tmp_path / "s1")),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1 and "cannot listen" in proc.stderr
    assert "serving" not in proc.stderr

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--listen", f"127.0.0.1:{port}", "--workers", "1"],
        env=_env(VOC_STORE_PATH=str(tmp_path / "s2")),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "vocscore serving" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "server ended before its banner"
        assert f"vocscore serving on 127.0.0.1:{port}" in line
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # the port is bound by the time the banner says so
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


# -- the Python client and the CLI's output ---------------------------------------------------


def test_client_honours_voc_target(monkeypatch) -> None:
    monkeypatch.setenv("VOC_TARGET", "127.0.0.1:50999")
    with VocClient() as c:
        assert c.target == "127.0.0.1:50999"
    monkeypatch.delenv("VOC_TARGET")
    with VocClient() as c:
        assert c.target == DEFAULT_TARGET


def test_enums_print_as_names(target, capsys) -> None:
    assert cli([*target, "feedback", "ps-enum", "nps", "--score", "3", "--id", "ps-enum-1"]) == 0
    capsys.readouterr()
    assert cli([*target, "--json", "card", "ps-enum"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["nps"]["category"] == "DETRACTOR" and card["tier"] == "STANDARD"
    assert cli([*target, "--json", "triggers", "--limit", "1"]) == 0


def test_json_prints_64_bit_ints_as_numbers(target, capsys) -> None:
    assert cli([*target, "feedback", "ps-json", "nps", "--score", "9", "--id", "ps-json-1"]) == 0
    capsys.readouterr()
    assert cli([*target, "--json", "card", "ps-json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert isinstance(card["server_time_us"], int) and card["server_time_us"] > 0
    assert isinstance(card["nps"]["surveyed_at_ms"], int)
    assert cli([*target, "--json", "stats"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert all(not isinstance(v, str) or not v.isdigit() for v in stats.values())


def test_control_characters_from_the_server_are_not_printed(target, capsys) -> None:
    text = "服务太差\x1b[2J\x1b]0;pwned\x07 fake\rline\x9b31m"
    args = ["feedback", "ps-ctl", "csat", "--score", "1", "--agent", "A-ctl", "--text", text]
    assert cli([*target, *args]) == 0
    assert cli([*target, "dashboard", "A-ctl"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\x9b" not in out
    assert "服务太差" in out and "fake" in out
    assert cli([*target, "--json", "dashboard", "A-ctl"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert "\x1b" in board["comments"][0]["text"]  # JSON escapes it; the data is not altered


def test_score_reads_stdin_and_file(target, tmp_path: Path, capsys, monkeypatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("快递三天了还没到，气死了\n"))
    assert cli([*target, "--json", "score", "-", "--customer", "ps-in"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["topics"][0]["topic"] == "logistics.delay"
    f = tmp_path / "u.txt"
    f.write_text("快递三天了还没到，气死了\n", encoding="utf-8")
    assert cli([*target, "--json", "score", "--file", str(f), "--customer", "ps-in"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"][0]["topic"] == "logistics.delay"


def test_call_streams_a_conversation_and_end_ends_it(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "call.txt"
    f.write_text(
        "# a whole call, one utterance a line; AGENT: / CUSTOMER: name the speaker\n"
        "AGENT: 您好，请问有什么可以帮您？\n"
        "CUSTOMER: 快递三天了还没到，气死了\n"
        "\n"
        "客服说了也没用\n",
        encoding="utf-8",
    )
    assert cli([*target, "call", str(f), "--customer", "ps-call", "--interaction", "ps-i1"]) == 0
    out = capsys.readouterr().out
    assert out.count("emotion") >= 3 and "logistics.delay" in out
    assert "interaction ps-i1 ended (customer ps-call)" in out  # the end of the file ends it
    assert cli([*target, "--json", "end", "ps-i1"]) == 0  # and a retry returns the summary
    summary = json.loads(capsys.readouterr().out)
    assert summary["customer_id"] == "ps-call"
    assert cli([*target, "--json", "card", "ps-call"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert any(t["topic"] == "logistics.delay" for t in card["topics"])


# -- report tags -------------------------------------------------------------------------


def test_tags_normalised_across_scripts_and_spacing() -> None:
    forms = ["支付失败", "支付失敗", "支付 失败", " 支付　失敗 ", "支付失敗"]
    assert {normalize_tag(f) for f in forms} == {"支付失败"}
    assert normalize_tag("Payment  FAILED") == "payment failed"  # words keep one space
    assert normalize_tag("app  登录 失败") == "app 登录失败"


def test_reports_in_both_scripts_count_as_one_tag(client: VocClient) -> None:
    tags = ["支付失败", "支付失敗", "支付 失败"]
    acks = [client.report(f"ps-r{i}", f"ps-agent-{i}", tag) for i, tag in enumerate(tags)]
    assert [a.distinct_agents for a in acks] == [1, 2, 3]
    assert {a.tag for a in acks} == {"支付失败"}


# -- card texts and locales -----------------------------------------------------------------

NOW = 1_780_000_000_000


def _profile(days_ago: float) -> dict:
    p = new_profile("C1", NOW - 100 * DAY_MS)
    p["tier"] = "STANDARD"
    event = {"t": NOW - int(days_ago * DAY_MS), "k": "complaint"}
    event["tp"] = [["logistics.delay", "complaint"]]
    add_event(p, event, now_ms=NOW, history_days=90, max_events=200)
    return p


@pytest.mark.parametrize(
    ("days", "en", "zh"),
    [
        (0.2, "Complaint today: ", "今天投诉："),
        (1.2, "Complaint yesterday: ", "昨天投诉："),
        (3.5, "Complaint 3 days ago: ", "3 天前投诉："),
        (12.5, "Complaint 12 days ago: ", "12 天前投诉："),
    ],
)
def test_complaint_alert_says_n_days_ago(lexicon, days, en, zh) -> None:
    for locale, start in (("en", en), ("zh", zh)):
        card = assemble_card(
            "C1", _profile(days), now_ms=NOW, locale=locale, texts=lexicon, cfg=CardConfig()
        )
        label = lexicon.label("logistics.delay", locale)
        assert start + label in card.alerts, card.alerts


@pytest.mark.parametrize("locale", ["zh-TW", "zh-HK", "zh-Hant", "zh_TW"])
def test_traditional_locales_reach_traditional_texts(client: VocClient, lexicon, locale) -> None:
    client.feedback("ps-hant-1", "ps-hant", "COMPLAINT", text="快递三天了还没到，太慢了")
    card = client.card("ps-hant", locale=locale)
    hant = lexicon.label("logistics.delay", "zh-TW")
    assert hant != lexicon.label("logistics.delay", "zh")
    assert card.topics[0].label == hant
    assert card.opening_line == lexicon.opening("logistics.delay", "complaint", "zh-TW")
    assert "投訴" in " ".join(card.alerts)  # the card's own texts too
    assert card.locale == "zh-Hant"
    assert client.card("ps-hant", locale="zh-CN").locale == "zh"


def test_cli_card_takes_a_traditional_locale(target, lexicon, capsys) -> None:
    args = ["feedback", "ps-hant2", "complaint", "--text", "快递三天了还没到，太慢了"]
    assert cli([*target, *args]) == 0
    capsys.readouterr()
    assert cli([*target, "card", "ps-hant2", "--locale", "zh-TW"]) == 0
    assert lexicon.label("logistics.delay", "zh-TW") in capsys.readouterr().out
    assert cli([*target, "card", "ps-hant2", "--locale", "fr"]) == 1
    assert capsys.readouterr().err.startswith("INVALID_ARGUMENT: locale")


# -- CRM import -----------------------------------------------------------------------------


def _import(target, path: Path, capsys, *extra: str) -> tuple[int, dict]:
    code = cli([*target, "--json", "import", str(path), "--quiet", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_import_excel_csv_with_byte_order_mark(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes(b"\xef\xbb\xbfcustomer_id,tier,name\r\nbom-1,VIP,Li Lei\r\n")
    code, result = _import(target, f, capsys)
    assert (code, result["upserted"], result["rejected"]) == (0, 1, 0)


def test_import_gbk_file_is_detected(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "gbk.csv"
    rows = "".join(f"gbk-{i},STANDARD,客户{i}号王芳,zh\n" for i in range(30))
    f.write_bytes(("customer_id,tier,name,locale\n" + rows).encode("gbk"))
    code, result = _import(target, f, capsys)
    assert (code, result["upserted"], result["encoding"]) == (0, 30, "gb18030")
    assert cli([*target, "--json", "card", "gbk-7"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "客户7号王芳"
    code, result = _import(target, f, capsys, "--encoding", "gbk")
    assert (code, result["upserted"]) == (0, 30)


def test_import_stray_byte_rejects_its_line_only(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "stray.csv"
    lines = [b"customer_id,tier,name"] + [f"sb-{i},VIP,n{i}".encode() for i in range(40)]
    lines[5] = b"sb-4,VIP,bad\xff name"
    f.write_bytes(b"\n".join(lines) + b"\n")
    code, result = _import(target, f, capsys)
    assert (code, result["upserted"], result["rejected"]) == (3, 39, 1)
    assert result["errors"][0].startswith("line 6: not valid utf-8 (byte 0xff")


def test_import_unclosed_quote_reported_at_its_line(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "quote.csv"
    lines = ["customer_id,tier,name,address"] + [f"uq-{i},VIP,n{i},street {i}" for i in range(60)]
    lines[3] = 'uq-2,VIP,"n2 is unclosed,street 2'
    lines[10] = 'uq-9,VIP,n9,"a street\nwith a line break"'  # a legitimate multi-line field
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, result = _import(target, f, capsys)
    assert result["errors"] == ['line 4: unclosed quote: a " opened on this line is never closed']
    assert (code, result["upserted"], result["rejected"]) == (3, 59, 1)
    assert result["lines"] == result["upserted"] + result["rejected"]  # the summary adds up


def test_import_errors_in_line_order_and_ids_with_spaces(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "order.csv"
    f.write_text(
        "customer_id,tier,name,locale\n"
        "lo-1,VIP,a,xx\n"  # refused by the server (locale)
        "lo 2,VIP,b,zh\n"  # refused here (space in the id)
        "lo-3,GOLD,c,zh\n"  # refused here (tier)
        "lo-4,VIP,d,zh\n",
        encoding="utf-8",
    )
    code, result = _import(target, f, capsys)
    assert code == 3 and result["upserted"] == 1
    assert [e.split(":")[0] for e in result["errors"]] == ["line 2", "line 3", "line 4"]
    assert "customer_id" in result["errors"][1] and "space" in result["errors"][1]


def test_import_dry_run_sends_nothing(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "dry.jsonl"
    f.write_text('{"customer_id": "dry-1", "tier": "VIP"}\n{"customer_id": "dry-2"}\n')
    code, result = _import(target, f, capsys, "--dry-run")
    assert (code, result["upserted"], result["rejected"], result["dry_run"]) == (3, 1, 1, True)
    assert cli([*target, "--json", "card", "dry-1"]) == 0
    assert json.loads(capsys.readouterr().out)["known"] is False


def test_import_refuses_control_characters_in_names(target, tmp_path: Path, capsys) -> None:
    f = tmp_path / "ctl.jsonl"
    f.write_text(
        '{"customer_id": "ctl-1", "tier": "VIP", "name": "\\u001b[2Jevil"}\n'
        '{"customer_id": "ctl-2", "tier": "VIP", "attributes": {"k\\u0007": "v"}}\n'
    )
    code, result = _import(target, f, capsys)
    assert (code, result["upserted"]) == (3, 0)
    assert (
        result["errors"][0].startswith("line 1: name")
        and "line 2: attributes" in result["errors"][1]
    )


def test_to_dict_gives_enum_names_and_numbers(client: VocClient) -> None:
    from clients.client import to_dict

    client.feedback("ps-dict-1", "ps-dict", "NPS", score=2)
    card = to_dict(client.card("ps-dict"))
    assert card["nps"]["category"] == "DETRACTOR" and card["priority"] in ("YELLOW", "ORANGE")
    assert isinstance(card["nps"]["surveyed_at_ms"], int)
