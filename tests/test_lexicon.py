"""Lexicon loader: validation with file:line errors, overrides, versions, traditional variants."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scoring import EN, TAXONOMY, ZH, write_lexicon  # tests/ is on sys.path

from server.lexicon import LexiconError, builtin_dir, check_dirs, load_lexicon


def load(root: Path, *extra: Path):
    return load_lexicon([root, *extra], include_builtin=False)


def test_loads_fixture(tmp_path: Path) -> None:
    lexicon = load(write_lexicon(tmp_path / "lex"))
    assert lexicon.topics() == (
        "logistics.delay",
        "logistics.speed",
        "product.quality",
        "service.attitude",
    )
    assert lexicon.label("logistics.delay", "zh-CN") == "物流延迟"
    assert lexicon.label("logistics.delay", "zh-TW") == "物流延遲"
    assert lexicon.label("logistics.delay", "en-US") == "delivery delay"
    assert lexicon.label("no.such", "en") == "no.such"
    assert lexicon.severity("logistics.delay") == 2 and lexicon.severity("no.such") == 1
    assert lexicon.owner("product.quality") == "product-qa" and lexicon.owner("no.such") == ""
    assert (
        lexicon.opening("logistics.delay", "complaint", "zh") == "看到您的订单物流延迟了，非常抱歉"
    )
    assert (
        lexicon.opening("logistics.delay", "complaint", "zh-HK")
        == "看到您的訂單物流延遲了，非常抱歉"
    )
    assert lexicon.opening("logistics.delay", "complaint", "en") == (
        "I can see your delivery delay — I'm sorry"
    )
    assert lexicon.opening("logistics.delay", "praise", "en") is None
    counts = lexicon.counts()
    assert counts["taxonomy"] == 4 and counts["openings"] == 2
    assert counts["modifiers"] == 11 and counts["topics"] == 9 + 4
    assert len(lexicon.version) == 12
    entry = next(e for e in lexicon.terms if e.term == "满意")
    assert entry.variants == ("滿意",) and entry.lang == "zh" and entry.kind == "emotion"
    with pytest.raises(AttributeError):
        lexicon.version = "x"  # type: ignore[misc]


def test_terms_are_normalised(tmp_path: Path) -> None:
    zh = dict(
        ZH, **{"emotions_extra.tsv": "term\temotion\tweight\tnotes\nＯＫ啦\tpositive\t0.4\t\n"}
    )
    lexicon = load(write_lexicon(tmp_path / "lex", zh=zh))
    assert any(e.term == "ok啦" for e in lexicon.terms)


def _one_file(tmp_path: Path, name: str, text: str, lang: str = "zh") -> tuple[Path, Path]:
    root = write_lexicon(tmp_path / "lex")
    path = root / lang / name if lang else root / name
    path.write_text(text, encoding="utf-8")
    return root, path


BAD = [
    ("emotions.tsv", "term\temotion\tweight\n满意\tsatisfaction\t0.6\n", 1, "header must be"),
    ("emotions.tsv", "# only a comment\n", 1, "missing header"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n满意\tsatisfaction\n", 2, "columns, got 2"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n满意\ta\tb\tc\td\n", 2, "columns, got 5"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n满意\tjoyful\t0.6\t\n", 2, "emotion 'joyful'"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n满意\tjoy\t1.5\t\n", 2, "out of range"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n满意\tjoy\t-0.1\t\n", 2, "out of range"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n满意\tjoy\tmuch\t\n", 2, "not a number"),
    ("emotions.tsv", "term\temotion\tweight\tnotes\n\tjoy\t0.5\t\n", 2, "must not be empty"),
    (
        "emotions.tsv",
        "term\temotion\tweight\tnotes\n# c\n满意\tjoy\t0.5\t\n\n滿意\tjoy\t0.5\t\n满意\tjoy\t0.6\t\n",
        6,
        "duplicate term",
    ),
    ("modifiers.tsv", "term\tkind\tweight\tnotes\n不\tnegator\t1.0\t\n", 2, "out of range"),
    ("modifiers.tsv", "term\tkind\tweight\tnotes\n很\tintensifier\t0.9\t\n", 2, "out of range"),
    ("modifiers.tsv", "term\tkind\tweight\tnotes\n有点\tdiminisher\t1.2\t\n", 2, "out of range"),
    ("modifiers.tsv", "term\tkind\tweight\tnotes\n但是\tcontrast\t1\t\n", 2, "out of range"),
    ("modifiers.tsv", "term\tkind\tweight\tnotes\n但是\tbooster\t1.5\t\n", 2, "kind 'booster'"),
    (
        "topics.tsv",
        "term\ttopic\tweight\tpolarity\tnotes\n慢\tlogistics.slow\t0.5\tcomplaint\t\n",
        2,
        "not in the taxonomy",
    ),
    (
        "topics.tsv",
        "term\ttopic\tweight\tpolarity\tnotes\n慢\tlogistics.delay\t0.5\tbad\t\n",
        2,
        "polarity 'bad'",
    ),
    ("entities.tsv", "term\tentity\tweight\tnotes\nX\tProduct X\t1\t\n", 2, "id 'Product X'"),
    (
        "openings.tsv",
        "topic\tpolarity\ttext\tnotes\nlogistics.delay\tpraise\t好\t\nlogistics.delay\tpraise\t好\t\n",
        3,
        "duplicate opening",
    ),
    ("openings.tsv", "topic\tpolarity\ttext\tnotes\nno.such\tpraise\t好\t\n", 2, "not in the"),
    ("feelings.tsv", "term\tx\n", 1, "unknown lexicon kind 'feelings'"),
]


@pytest.mark.parametrize(("name", "text", "line", "reason"), BAD)
def test_errors_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, reason: str
) -> None:
    root, path = _one_file(tmp_path, name, text)
    with pytest.raises(LexiconError) as info:
        load(root)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert reason in message
    assert isinstance(info.value, ValueError)


TAXONOMY_BAD = [
    ("logistics.delay\tlogistics\t物流延迟\tdelay\t4\tops", "severity '4'"),
    ("logistics.delay\tlogistic\t物流延迟\tdelay\t2\tops", "parent 'logistic'"),
    ("Logistics\tlogistics\t物流延迟\tdelay\t2\tops", "must look like parent.child"),
    ("logistics.delay\tlogistics\t物流延迟\tdelay\t2\t", "owner must not be empty"),
    ("logistics.delay\tlogistics\t\tdelay\t2\tops", "label_zh and label_en"),
]


@pytest.mark.parametrize(("row", "reason"), TAXONOMY_BAD)
def test_taxonomy_errors(tmp_path: Path, row: str, reason: str) -> None:
    root = tmp_path / "lex"
    root.mkdir()
    header = TAXONOMY.splitlines()[0]
    (root / "taxonomy.tsv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=f"taxonomy.tsv:2: .*{reason}"):
        load(root)


def test_files_in_the_wrong_place(tmp_path: Path) -> None:
    root = write_lexicon(tmp_path / "lex")
    (root / "emotions.tsv").write_text("term\temotion\tweight\tnotes\n", encoding="utf-8")
    (root / "zh" / "taxonomy.tsv").write_text(TAXONOMY, encoding="utf-8")
    (root / "zh" / "bad.tsv").write_bytes(b"term\temotion\tweight\tnotes\n\xff\tjoy\t1\t\n")
    errors = check_dirs([root], include_builtin=False)
    assert any("emotions.tsv:1: emotions files belong in a language folder" in e for e in errors)
    assert any("zh/taxonomy.tsv:1: taxonomy files belong in the top folder" in e for e in errors)
    assert any("zh/bad.tsv:1: unknown lexicon kind 'bad'" in e for e in errors)


def test_check_dirs_reports_every_error(tmp_path: Path) -> None:
    root = write_lexicon(tmp_path / "lex")
    (root / "zh" / "emotions_more.tsv").write_text(
        "term\temotion\tweight\tnotes\n好\tjoy\t2\t\n坏\tbad\t0.5\t\n满意\tjoy\t0.5\t\n",
        encoding="utf-8",
    )
    (root / "en" / "modifiers_more.tsv").write_bytes(b"term\tkind\tweight\tnotes\nok\xff\n")
    errors = sorted(
        check_dirs([root], include_builtin=False, authoring=False),
        key=lambda e: e.split(": ")[0].rsplit("/")[-1],
    )
    assert len(errors) == 4, errors
    assert errors[0].endswith("emotions_more.tsv:2: weight '2' out of range [0, 1]")
    assert "emotions_more.tsv:3: emotion 'bad'" in errors[1]
    assert "emotions_more.tsv:4: duplicate term '满意' with another meaning" in errors[2]
    assert "modifiers_more.tsv:2: not valid UTF-8" in errors[3]
    ok = write_lexicon(tmp_path / "ok")  # single-character zh topics: a load rule allows them
    assert check_dirs([ok], include_builtin=False, authoring=False) == []


def test_case_variants_fold_together(tmp_path: Path) -> None:
    same = "term\tentity\tweight\tnotes\nApp\tfeature.app\t0.9\t\napp\tfeature.app\t0.9\t\n"
    root, _ = _one_file(tmp_path / "a", "entities.tsv", same)
    assert [e.term for e in load(root).terms if e.kind == "entity" and e.lang == "zh"] == ["app"]
    other = same.replace("app\tfeature.app\t0.9", "ＡＰＰ\tfeature.app\t0.5")
    root, path = _one_file(tmp_path / "b", "entities.tsv", other)
    with pytest.raises(LexiconError, match=f"{path}:3: duplicate term 'app' with another meaning"):
        load(root)


def test_user_dir_overrides_and_extends(tmp_path: Path) -> None:
    base = write_lexicon(tmp_path / "base")
    user = tmp_path / "user"
    (user / "zh").mkdir(parents=True)
    (user / "taxonomy.tsv").write_text(
        TAXONOMY.splitlines()[0] + "\npayment.failed\tpayment\t支付失败\tpayment failed\t3\ttech\n",
        encoding="utf-8",
    )
    (user / "zh" / "emotions-custom.tsv").write_text(
        "term\temotion\tweight\tnotes\n满意\tjoy\t0.9\toverride\n", encoding="utf-8"
    )
    (user / "zh" / "topics_pay.tsv").write_text(
        "term\ttopic\tweight\tpolarity\tnotes\n付不了款\tpayment.failed\t1\tcomplaint\t\n"
        "慢\tlogistics.delay\t0.6\tcomplaint\tnew topic for a built-in term\n",
        encoding="utf-8",
    )
    plain = load(base)
    lexicon = load(base, user)
    by_term = {(e.kind, e.term): e for e in lexicon.terms}
    assert by_term["emotion", "满意"].category == "joy"
    assert by_term["emotion", "满意"].weight == 0.9
    assert by_term["topic", "慢"].category == "logistics.delay"
    assert by_term["topic", "付不了款"].category == "payment.failed"
    assert lexicon.owner("payment.failed") == "tech"
    assert len(lexicon.terms) == len(plain.terms) + 1
    assert lexicon.version != plain.version


def test_version_changes_with_content(tmp_path: Path) -> None:
    root = write_lexicon(tmp_path / "lex")
    first = load(root).version
    assert load(root).version == first
    path = root / "zh" / "emotions.tsv"
    path.write_text(path.read_text(encoding="utf-8") + "愤怒\tanger\t1.0\t\n", encoding="utf-8")
    assert load(root).version != first


def test_builtin_directory_is_found() -> None:
    root = builtin_dir()
    assert root.is_dir()
    if not (root / "taxonomy.tsv").is_file():
        pytest.skip("the built-in lexicons are not written yet")
    lexicon = load_lexicon()
    assert lexicon.counts()["taxonomy"] > 0


def test_english_fixture_has_no_variants(tmp_path: Path) -> None:
    lexicon = load(write_lexicon(tmp_path / "lex", zh={}, en=EN))
    assert all(not e.variants for e in lexicon.terms)
