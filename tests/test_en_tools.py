"""lexicons/en/topics_banking.tsv is what lexicons/tools/build_en_topics.py writes."""

from __future__ import annotations

from pathlib import Path

from lexicons.tools import build_en_topics


def test_committed_rows_match_the_build(tmp_path: Path) -> None:
    out = tmp_path / "topics_banking.tsv"
    assert build_en_topics.main(["--out", str(out)]) == 0
    committed = build_en_topics.DEFAULT_OUT.read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed


def test_spellings_and_precedence() -> None:
    lines = build_en_topics.build(existing={"card was declined"})
    terms = {line.split("\t")[0]: line.split("\t")[1:] for line in lines}
    assert "card was declined" not in terms  # en/topics.tsv has it
    assert terms["didn't go through"][:3] == ["payment.failure", "0.8", "complaint"]
    assert terms["didnt go through"][3] == "apostrophe-less variant"
    assert terms["didn\u2019t go through"][3] == "curly-apostrophe variant"
    assert terms["transfer"][:3] == ["payment.failure", "0.3", "neutral"]
