"""lexicons/en/emotions_vader.tsv is what lexicons/tools/build_vader.py makes of VADER's lexicon."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexicons.tools import build_vader


def test_committed_rows_match_the_build(tmp_path: Path) -> None:
    pytest.importorskip("vaderSentiment")
    out = tmp_path / "emotions_vader.tsv"
    assert build_vader.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == build_vader.DEFAULT_OUT.read_text(encoding="utf-8")


def test_build_filters_and_classifies(tmp_path: Path) -> None:
    source = tmp_path / "vader_lexicon.txt"
    source.write_text(
        "enraged\t-3.3\t0.5\t[]\n"
        "frightened\t-1.9\t0.5\t[]\n"
        "meh\t-0.3\t0.5\t[]\n"  # weak
        "help\t1.7\t0.5\t[]\n"  # stoplist
        "very\t0.2\t0.5\t[]\n"  # weak and a modifier
        "gr8\t2.7\t0.5\t[]\n"  # digits
        "):\t-1.8\t0.5\t[]\n"  # closes a parenthesis
        ":(\t-1.9\t0.5\t[]\n"
        "appreciative\t2.7\t0.5\t[]\n"
        "sunshine\t2.0\t0.5\t[]\n"
        "dreadful\t-2.7\t0.5\t[]\n",  # hand-written
        encoding="utf-8",
    )
    out = tmp_path / "out.tsv"
    assert build_vader.main(["--lexicon", str(source), "--out", str(out)]) == 0
    rows = {
        line.split("\t")[0]: line.split("\t")[1:3]
        for line in out.read_text(encoding="utf-8").splitlines()[3:]
    }
    assert rows == {
        "enraged": ["anger", "1"],
        "frightened": ["anxiety", "0.63"],
        ":(": ["negative", "0.63"],
        "appreciative": ["gratitude", "0.9"],
        "sunshine": ["positive", "0.67"],
    }


def test_runtime_does_not_import_vader() -> None:
    root = Path(__file__).resolve().parents[1]
    for folder in ("server", "kernels", "clients"):
        for path in (root / folder).rglob("*.py"):
            assert "vaderSentiment" not in path.read_text(encoding="utf-8"), path
