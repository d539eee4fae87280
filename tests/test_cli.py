"""The `vocscore` CLI, called as main(argv) against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clients.cli import EXIT_REJECTED, main


@pytest.fixture(scope="module")
def target(server, client) -> list[str]:
    return ["--target", f"127.0.0.1:{server.port}"]


def test_health_and_stats(target, capsys) -> None:
    assert main([*target, "health"]) == 0
    assert capsys.readouterr().out.strip() == "SERVING"
    assert main([*target, "--json", "stats"]) == 0
    assert "lexicon_version" in json.loads(capsys.readouterr().out)


def test_feedback_then_card_readable_and_json(target, capsys) -> None:
    assert main([*target, "feedback", "cli-1", "nps", "--score", "2", "--id", "cli-fb-1"]) == 0
    assert (
        main(
            [
                *target,
                "feedback",
                "cli-1",
                "complaint",
                "--text",
                "扣了两次钱，赶紧退款",
                "--id",
                "cli-fb-2",
            ]
        )
        == 0
    )
    assert "recorded" in capsys.readouterr().out
    assert main([*target, "feedback", "cli-1", "nps", "--score", "2", "--id", "cli-fb-1"]) == 0
    assert "duplicate" in capsys.readouterr().out
    assert main([*target, "card", "cli-1", "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert "DETRACTOR" in out and "payment.double_charge" in out and "opening" in out
    assert main([*target, "--json", "card", "cli-1"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["nps"]["category"] == "DETRACTOR" and card["known"] is True


def test_bad_input_prints_status_and_exits_1(target, capsys) -> None:
    assert main([*target, "feedback", "c", "nps", "--score", "12"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("INVALID_ARGUMENT: score")


def test_import_csv_and_jsonl_reports_rejected_lines(target, tmp_path: Path, capsys) -> None:
    csv_file = tmp_path / "crm.csv"
    csv_file.write_text(
        "customer_id,tier,name,locale,region\n"
        "imp-1,VIP,李雷,zh,east\n"
        "imp-2,GOLD,韩梅梅,zh,east\n"
        ",STANDARD,Nobody,en,west\n"
        "imp-3,standard,Tom,en,west\n",
        encoding="utf-8",
    )
    assert main([*target, "import", str(csv_file), "--quiet"]) == EXIT_REJECTED
    out = capsys.readouterr().out
    assert "imported 2 profiles" in out and "rejected 2 lines" in out
    assert "line 3: tier" in out and "line 4: customer_id" in out
    jsonl = tmp_path / "crm.jsonl"
    jsonl.write_text(
        '{"customer_id": "imp-4", "tier": "VVIP", "attributes": {"segment": "gold"}}\nnot json\n',
        encoding="utf-8",
    )
    assert main([*target, "--json", "import", str(jsonl), "--quiet"]) == EXIT_REJECTED
    result = json.loads(capsys.readouterr().out)
    assert result["upserted"] == 1 and result["errors"][0].startswith("line 2: invalid JSON")
    assert main([*target, "--json", "card", "imp-4"]) == 0
    assert json.loads(capsys.readouterr().out)["tier"] == "VVIP"


def test_unreachable_server_is_a_clear_error(capsys) -> None:
    assert main(["--target", "127.0.0.1:1", "--timeout", "0.5", "health"]) == 1
    assert capsys.readouterr().err.startswith("UNAVAILABLE")


def test_score_shows_matches_and_escalation(target, capsys) -> None:
    assert (
        main(
            [
                *target,
                "score",
                "你们到底怎么回事！！！再不解决我就投诉",
                "--interaction",
                "cli-i1",
                "--customer",  # the first utterance of an interaction names the customer
                "cli-c1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "ANGRY" in out and "emotion" in out


def test_lexicon_check_names_file_and_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "topics_custom.tsv").write_text(
        "term\ttopic\tweight\tpolarity\tnotes\n屏幕碎了\tproduct.quality\t0.9\tcomplaint\t\n"
        "电池鼓包\tno.such_topic\t0.9\tcomplaint\t\n",
        encoding="utf-8",
    )
    assert main(["lexicon", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "topics_custom.tsv:3" in out and "no.such_topic" in out


def test_lexicon_test_with_user_dir(tmp_path: Path, capsys) -> None:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "topics_custom.tsv").write_text(
        "term\ttopic\tweight\tpolarity\tnotes\n电池鼓包了\tproduct.quality\t0.9\tcomplaint\t\n",
        encoding="utf-8",
    )
    assert main(["--json", "lexicon", "test", "我的手机电池鼓包了", "--dir", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "product.quality" in [t["topic"] for t in result["topics"]]


class _ClosedPipe:
    """A stdout whose reader has gone away (`vocscore ... | head`)."""

    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    assert main(["lexicon", "test", "快递一周了还没到"]) == 1
    assert "BrokenPipeError" not in capsys.readouterr().err


def test_stats_prints_each_server_process_on_its_own_line():
    from clients.cli import format_stats
    from clients.pb import admin_pb2

    stats = admin_pb2.Stats(customers=3, lexicon_version="abc")
    stats.processes.add(pid=12, role="owner", lexicon_version="abc", reload_seq=2)
    stats.processes.add(pid=13, role="worker", lexicon_version="old", reload_seq=1)
    lines = format_stats(stats).splitlines()
    assert "process            12 owner  lexicon abc reload 2" in lines
    assert "process            13 worker lexicon old reload 1" in lines
    assert not any(line.startswith("processes") for line in lines)
