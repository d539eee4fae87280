"""lexicons/tools/: one set of lexicon rules (validate.py and `vocscore lexicon check` agree), and
the build scripts' pure functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clients.cli import main as cli_main
from lexicons.tools import build_ntusd, build_review_polarity, build_review_weights, validate
from server.lexicon import (
    CATEGORY_RE,
    MODIFIER_RANGES,
    TOPIC_RE,
    WEIGHT_RANGES,
    Range,
    check_dirs,
    load_lexicon,
)

HEADERS = {
    "topics": "term\ttopic\tweight\tpolarity\tnotes",
    "emotions": "term\temotion\tweight\tnotes",
    "modifiers": "term\tkind\tweight\tnotes",
    "openings": "topic\tpolarity\ttext\tnotes",
}


def user_dir(root: Path, lang: str = "zh", **files: list[str]) -> Path:
    """A user lexicon directory (loaded over the built-in set) with the given rows per kind."""
    (root / lang).mkdir(parents=True, exist_ok=True)
    for kind, rows in files.items():
        text = "\n".join([HEADERS[kind], *rows]) + "\n"
        (root / lang / f"{kind}_user.tsv").write_text(text, encoding="utf-8")
    return root


def cli_errors(root: Path, capsys) -> tuple[int, list[str]]:
    code = cli_main(["lexicon", "check", str(root)])
    out = capsys.readouterr().out.splitlines()
    return code, [line for line in out if not line.startswith("ok: ")]


# ---- the rules -------------------------------------------------------------------------------


def test_ranges_are_one_table_with_open_and_closed_ends() -> None:
    intensifier = MODIFIER_RANGES["intensifier"]
    assert 1.0 not in intensifier and 1.01 in intensifier and 3.0 in intensifier
    assert 3.01 not in intensifier and float("nan") not in intensifier
    assert str(intensifier) == "(1, 3]"
    assert -1.0 in MODIFIER_RANGES["negator"] and 0.0 not in MODIFIER_RANGES["negator"]
    assert 0.5 in MODIFIER_RANGES["diminisher"] and 1.0 not in MODIFIER_RANGES["diminisher"]
    assert 0.0 in WEIGHT_RANGES["emotions"] and 0.0 not in WEIGHT_RANGES["topics"]
    assert Range(0, 1, True, True).__contains__("0.5") is False


@pytest.mark.parametrize(
    ("topic", "ok"),
    [
        ("logistics.delay", True),
        ("account.security_2", True),
        ("a.b.c", False),  # parent.child only
        ("1a.b", False),
        ("account.2fa", False),
        ("Logistics.delay", False),
        ("logistics", False),
    ],
)
def test_topic_pattern(topic: str, ok: bool) -> None:
    assert bool(TOPIC_RE.fullmatch(topic)) is ok


def test_category_pattern() -> None:
    assert CATEGORY_RE.fullmatch("product.phone_x")
    assert CATEGORY_RE.fullmatch("black_screen")
    assert not CATEGORY_RE.fullmatch("_x") and not CATEGORY_RE.fullmatch("Phone")


# ---- validate.py and `vocscore lexicon check` agree ------------------------------------------


CASES = [
    # (kind, row, what the one rule says: an error containing this text, or None for valid)
    ("modifiers", "超级无敌\tintensifier\t2.5\t", None),  # validate.py refused > 2.0 before
    ("modifiers", "稍稍\tdiminisher\t0.05\t", None),  # validate.py refused < 0.1 before
    ("modifiers", "极其极其\tintensifier\t3.5\t", "out of range (1, 3]"),
    ("modifiers", "不太\tnegator\t0\t", "out of range [-1, 0)"),
    ("emotions", "滿意極了\tjoy\t0.8\t", "is not simplified"),  # the CLI accepted it before
    ("emotions", "烦\tanger\t0.5\t", "single-character zh term"),
    ("modifiers", "超\tintensifier\t1.5\t", None),  # one character is fine as a modifier
    ("topics", "退不了款\trefund.delay\t0.8\tcomplaint\t", None),
]


def test_validate_and_lexicon_check_give_the_same_verdict(tmp_path: Path, capsys) -> None:
    """Each case in a file of its own, all in one directory checked once by each tool."""
    root = tmp_path / "user"
    (root / "zh").mkdir(parents=True)
    for i, (kind, row, _) in enumerate(CASES):
        text = "\n".join([HEADERS[kind], row]) + "\n"
        (root / "zh" / f"{kind}_case{i}.tsv").write_text(text, encoding="utf-8")
    errors = validate.validate([root])
    code, printed = cli_errors(root, capsys)
    assert printed == errors and code == 1
    assert validate.main([str(root)]) == 1
    assert capsys.readouterr().err.splitlines() == errors
    for i, (_, row, expected) in enumerate(CASES):
        mine = [e for e in errors if f"_case{i}.tsv:" in e]
        if expected is None:
            assert mine == [], row
        else:
            assert len(mine) == 1 and expected in mine[0] and f"_case{i}.tsv:2" in mine[0], row


def test_taxonomy_topic_pattern_is_the_same_for_both(tmp_path: Path, capsys) -> None:
    root = tmp_path / "user"
    root.mkdir()
    (root / "taxonomy.tsv").write_text(
        "topic\tparent\tlabel_zh\tlabel_en\tseverity\towner\n"
        "card.lost.abroad\tcard\t卡丢失\tlost card\t3\tsecurity-oncall\n",
        encoding="utf-8",
    )
    errors = validate.validate([root])
    assert errors == cli_errors(root, capsys)[1]
    assert len(errors) == 1 and "must look like parent.child" in errors[0]


def test_openings_hold_only_the_label_placeholder(tmp_path: Path) -> None:
    root = user_dir(
        tmp_path / "user",
        lang="en",
        openings=["refund.delay\tcomplaint\tHi {name}, your {label}\t"],
    )
    errors = validate.validate([root])
    assert len(errors) == 1 and "unknown placeholder(s) ['name']" in errors[0]


def test_no_single_letter_terms_outside_modifiers(tmp_path: Path) -> None:
    root = user_dir(tmp_path / "user", lang="en", emotions=["l\tpositive\t0.6\t", "😀\tjoy\t0.6\t"])
    errors = validate.validate([root])
    assert len(errors) == 1 and "single-letter term 'l'" in errors[0]


def test_the_loader_keeps_to_the_load_rules(tmp_path: Path) -> None:
    """Authoring rules are reported by the checkers, but never stop a server from starting."""
    root = user_dir(tmp_path / "user", emotions=["烦\tanger\t0.5\t"])
    lexicon = load_lexicon([root])
    assert any(t.term == "烦" for t in lexicon.terms)
    assert check_dirs([root], authoring=False) == []
    assert len(check_dirs([root])) == 1
    bad = user_dir(tmp_path / "bad", modifiers=["极其极其\tintensifier\t3.5\t"])
    with pytest.raises(ValueError, match=r"out of range \(1, 3\]"):
        load_lexicon([bad])


def test_standalone_needs_the_whole_set(tmp_path: Path, capsys) -> None:
    root = user_dir(tmp_path / "user", topics=["退不了款\trefund.delay\t0.8\tcomplaint\t"])
    assert validate.main([str(root)]) == 0  # over the built-in taxonomy
    assert validate.main(["--standalone", str(root)]) == 1  # no taxonomy of its own
    assert "is not in the taxonomy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        validate.main(["--standalone"])


def test_the_shipped_lexicons_and_packs_pass(capsys) -> None:
    assert validate.main([]) == 0
    out = capsys.readouterr().out
    assert "zh/emotions.tsv:" in out and "reviews/zh/" in out and out.endswith("0 error(s)\n")


def test_row_counts_skip_header_comments_and_blank_lines(tmp_path: Path) -> None:
    root = user_dir(tmp_path / "user", emotions=["# a comment", "", "开心\tjoy\t0.6\t"])
    (root / "_packs" / "p" / "zh").mkdir(parents=True)
    assert validate.row_counts(root) == {"zh/emotions_user.tsv": 1}
    assert validate.builtin_sets(root) == [[], [root / "_packs" / "p"]]


# ---- build_ntusd ------------------------------------------------------------------------------


def test_ntusd_contains_any_looks_for_inner_words_of_two_or_more() -> None:
    assert build_ntusd.contains_any("非常满意", {"满意"}, 4)
    assert not build_ntusd.contains_any("满意", {"满"}, 4)  # single characters never count
    assert not build_ntusd.contains_any("非常满意", {"满意"}, 1)


def test_ntusd_build_filters_and_simplifies(tmp_path: Path) -> None:
    src = tmp_path / "ntusd"
    src.mkdir()
    (src / "positive.zh-Hant.txt").write_text("滿意\n好\n開心\n喜歡\nabc\n", encoding="utf-8")
    (src / "negative.zh-Hant.txt").write_text("失望\n喜歡\n糟糕透頂\n", encoding="utf-8")
    hand = tmp_path / "emotions.tsv"
    hand.write_text("term\temotion\tweight\tnotes\n满意\tjoy\t0.6\t\n", encoding="utf-8")
    (tmp_path / "modifiers.tsv").write_text(
        "term\tkind\tweight\tnotes\n失望\tnegator\t-1\t\n", encoding="utf-8"
    )
    rows, stats = build_ntusd.build(src, hand)
    assert rows == [("糟糕透顶", "negative"), ("开心", "positive")]
    assert stats["3 single character"] == 1  # 好
    assert stats["2 not a word"] == 1  # abc
    assert stats["4 in both lists"] == 2  # 喜欢, once per list
    assert stats["5 hand-written term"] == 1  # 满意
    assert stats["6d modifier"] == 1  # 失望


# ---- build_review_polarity --------------------------------------------------------------------


def test_polarity_grams_count_overlaps_within_runs() -> None:
    grams = build_review_polarity.grams("好好好，ok", 1, 2)
    assert grams["好"] == 3 and grams["好好"] == 2
    assert grams["ok"] == 1 and grams["o"] == 1
    assert "好，" not in grams and "好o" not in grams  # n-grams never cross a run


def test_polarity_table_round_trip(tmp_path: Path) -> None:
    table = build_review_polarity.Table(
        0.1234567, -0.5, {"好评": 1.23456789, "差": -2.0, "微": 1e-6, "a\tb": 1.0}
    )
    written = build_review_polarity.rounded(table)
    assert written.weights == {"好评": 1.23457, "差": -2.0}  # tiny and unwritable rows dropped
    out = tmp_path / "zh" / "polarity_x.tsv"
    n = build_review_polarity.write_table(written, out, build_review_polarity.Settings(), 10)
    assert n == 2
    assert build_review_polarity.read_table(out) == written
    # and the server reads it as the same classifier
    lexicon = load_lexicon([tmp_path], include_builtin=True)
    assert lexicon.polarity["zh"]["好评"] == 1.23457


def test_polarity_score_table_follows_the_kernel_semantics() -> None:
    Doc = build_review_polarity.Doc
    table = build_review_polarity.Table(0.0, 2.0, {"好": 1.0, "差": -1.5})
    docs = [
        Doc("好好", 1, "好好", 0.0),  # two occurrences: +2
        Doc("差", -1, "差", 0.0),
        Doc("嗯", 1, "嗯", 0.0),  # nothing matched, no valence: 0
        Doc("嗯", 1, "嗯", 0.25),  # valence alone: 2 * 0.25
    ]
    scored = build_review_polarity.score_table(table, docs)
    assert scored == [(2.0, 1), (-1.5, -1), (0.0, 0), (0.5, 1)]
    m = build_review_polarity.metrics(docs, scored)
    assert m == {"acc": 0.75, "coverage": 0.75, "n": 4}


def test_polarity_held_out_drops_fitted_and_repeated_texts() -> None:
    Doc = build_review_polarity.Doc
    fitted = [Doc("a", 1, "a", 0.0)]
    docs = [Doc("a", 1, "a", 0.0), Doc("b", 1, "b", 0.0), Doc("b", 1, "b", 0.0)]
    assert [d.text for d in build_review_polarity.held_out(fitted, docs)] == ["b"]


def test_lbfgs_minimises_a_convex_quadratic() -> None:
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])

    def fun(x: np.ndarray):
        return 0.5 * x @ a @ x - b @ x, a @ x - b

    x = build_review_polarity.lbfgs(fun, np.zeros(2), iters=100)
    assert np.allclose(x, np.linalg.solve(a, b), atol=1e-6)


# ---- build_review_weights ---------------------------------------------------------------------


def test_weight_of_scales_negative_evidence_and_clamps() -> None:
    assert build_review_weights.weight_of(0.5, gain=2.0) == 0.5
    assert build_review_weights.weight_of(-0.5, gain=2.0) == 0.25
    assert build_review_weights.weight_of(5.0, gain=1.0) == 1.0
    assert build_review_weights.weight_of(0.001, gain=1.0) == 0.01
    assert build_review_weights.weight_of(0.9, gain=1.0, max_weight=0.6) == 0.6


def test_review_weights_helpers(tmp_path: Path) -> None:
    assert build_review_weights._contains("非常满意", {"满意"}, [2])
    assert not build_review_weights._contains("满意", {"满意"}, [2])  # only proper parts
    df = build_review_weights.doc_freq(["好好的", "好的，好"], 1, 2)
    assert df["好"] == 2 and df["好的"] == 2 and df["好好"] == 1
    checks = tmp_path / "checks.txt"
    checks.write_text(
        "text\texpected\tnotes\n你好\t0\tgreeting\n# c\n太差了\t-1\t\n", encoding="utf-8"
    )
    assert build_review_weights.load_checks(checks) == [("你好", 0), ("太差了", -1)]
    shipped = build_review_weights.load_checks()
    assert ("你好", 0) in shipped and len(shipped) > 100
    fails = [("你好", 0, 1), ("太差了", -1, 0)]
    text = build_review_weights.fmt_checks(fails, [("你好", 0), ("太差了", -1)])
    assert text == "neutral wrongly signed 1/1: 你好 (+1); polar wrong 1/1: 太差了 (-1->+0)"
