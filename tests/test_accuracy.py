"""bench.accuracy and bench.datasets: the metric functions, the fixed splits, a run on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import accuracy, datasets
from server.scoring import LABELS

REPO = Path(__file__).resolve().parent.parent


def test_prf_counts_the_positive_class() -> None:
    gold = [True, True, False, False, True]
    pred = [True, False, True, False, True]
    m = accuracy.prf(gold, pred)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["support"] == 3
    assert accuracy.prf([False, False], [False, False])["f1"] == 0.0  # undefined: 0, not a crash


def test_macro_f1_averages_every_class_including_absent_ones() -> None:
    gold = ["angry", "angry", "happy", "neutral"]
    pred = ["angry", "happy", "happy", "neutral"]
    m = accuracy.macro_f1(gold, pred, ("angry", "happy", "neutral"))
    # angry: p 1, r .5 -> 2/3; happy: p .5, r 1 -> 2/3; neutral: 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    m5 = accuracy.macro_f1(gold, pred, accuracy.CLASSES)  # sad and fear never occur: F1 0
    assert m5["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 5)


def test_sign_accuracy_counts_neutral_as_wrong() -> None:
    m = accuracy.sign_accuracy([1, -1, 1, -1], [1, 0, -1, -1])
    assert m["accuracy"] == 0.5
    assert m["coverage"] == 0.75
    assert m["when_covered"] == pytest.approx(2 / 3)


def test_goemotions_sign_and_class() -> None:
    assert accuracy.en_sign(["anger"]) == -1
    assert accuracy.en_sign(["joy", "gratitude"]) == 1
    assert accuracy.en_sign(["joy", "anger"]) == 0  # both signs
    assert accuracy.en_sign(["surprise"]) == 0  # ambiguous only
    assert accuracy.en_sign(["neutral"]) == 0
    assert accuracy.en_class(["anger", "annoyance"]) == "angry"
    assert accuracy.en_class(["anger", "joy"]) is None
    assert accuracy.en_class(["curiosity"]) is None
    assert accuracy.en_class(["neutral"]) == "neutral"


def test_mappings_cover_the_scorer_and_the_taxonomy() -> None:
    assert set(accuracy.LABEL_CLASS) == set(LABELS)
    assert set(accuracy.LABEL_CLASS.values()) == set(accuracy.CLASSES)
    lines = (REPO / "lexicons" / "taxonomy.tsv").read_text(encoding="utf-8").splitlines()[1:]
    families = {line.split("\t")[1] for line in lines if line.strip()}
    assert set(accuracy.INTENT_FAMILY.values()) <= families
    assert accuracy.EN_NEGATIVE.isdisjoint(accuracy.EN_POSITIVE)


def test_callcenter_checks_parse() -> None:
    checks = accuracy.read_checks()
    assert len(checks) > 100
    assert {e for _, e in checks} <= {-1, 0, 1}
    assert ("你好", 0) in checks
    en = accuracy.read_checks(accuracy.CHECKS_EN)
    assert len(en) > 50 and {e for _, e in en} == {-1, 0, 1}
    assert ("where is my parcel", 0) in en


def test_split_is_a_fixed_function_of_the_text_and_seed() -> None:
    texts = [f"text {i}" for i in range(3000)]
    parts = [datasets.part_of(t, (70, 15)) for t in texts]
    assert parts == [datasets.part_of(t, (70, 15)) for t in texts]
    share = {p: parts.count(p) / len(parts) for p in ("fit", "dev", "heldout")}
    assert 0.66 < share["fit"] < 0.74 and 0.12 < share["dev"] < 0.18
    assert 0.12 < share["heldout"] < 0.18
    # pinned values: a change of hash or seed would move every split, so it must be deliberate
    assert [datasets.part_of(t, (70, 15)) for t in texts[:8]] == PINNED
    other = [datasets.part_of(t, (70, 15), seed=1) for t in texts]
    assert other != parts


PINNED = ["fit", "fit", "fit", "fit", "fit", "fit", "fit", "heldout"]


def test_sample_is_seeded() -> None:
    rows = [datasets.Row(str(i), ("x",)) for i in range(100)]
    a = datasets.sample(rows, 10, seed=3)
    assert a == datasets.sample(rows, 10, seed=3)
    assert a != datasets.sample(rows, 10, seed=4)
    assert len(datasets.sample(rows, 0)) == 100


def test_load_never_gives_the_held_out_part(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="load_heldout"):
        datasets.load("zh_reviews", "heldout", tmp_path)
    with pytest.raises(FileNotFoundError):
        datasets.load("zh_reviews", "fit", tmp_path / "absent")


def test_data_dir_follows_a_worktree_to_its_main_checkout(tmp_path: Path) -> None:
    main = tmp_path / "main"
    (main / ".git" / "worktrees" / "wt1").mkdir(parents=True)
    (main / ".git" / "worktrees" / "wt1" / "commondir").write_text("../..\n")
    (tmp_path / "shared" / "data").mkdir(parents=True)
    wt = tmp_path / "wt" / "wt1"
    wt.mkdir(parents=True)
    (wt / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'wt1'}\n")
    assert datasets.data_dir(root=main) == tmp_path / "shared" / "data"
    assert datasets.data_dir(root=wt) == tmp_path / "shared" / "data"
    assert datasets.data_dir(tmp_path / "nowhere") is None


def _write(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def tiny_data(root: Path) -> Path:
    zh = ["我太生气了，你们到底管不管\tangry", "非常感谢，太好了\thappy", "好害怕\tfear"]
    zh += ["心情很难过\tsad", "今天下午开会\tneutral", "哇\tsurprise"]
    _write(root / "emotion/zh_weibo_virus_train.tsv", "text\tlabel", zh[:3])
    _write(root / "emotion/zh_weibo_virus_eval.tsv", "text\tlabel", zh[3:4])
    _write(root / "emotion/zh_weibo_virus_test.tsv", "text\tlabel", zh)
    en = ["I hate how long this takes\tanger,annoyance", "love it, thanks!\tlove,gratitude"]
    en += ["what time is it\tneutral", "so sad today\tsadness"]
    _write(root / "emotion/en_goemotions_train.tsv", "text\tlabels", en)
    _write(root / "emotion/en_goemotions_dev.tsv", "text\tlabels", [f"Oh. {r}" for r in en])
    bank = [
        f"I was charged twice for the same order {i}\ttransaction_charged_twice" for i in range(30)
    ]
    bank += [f"how do I top up my card {i}\ttopping_up_by_card" for i in range(30)]
    _write(root / "intents/en_banking77_train.tsv", "text\tintent", bank)
    reviews = [f"质量很差，退货了{i}\tneg\t衣服" for i in range(30)]
    reviews += [f"很好用，很满意{i}\tpos\t手机" for i in range(30)]
    _write(root / "reviews/zh_online_shopping_9cats.tsv", "text\tlabel\tcategory", reviews)
    return root


def test_a_run_on_tiny_data_reports_every_figure(tmp_path: Path, capsys) -> None:
    data = tiny_data(tmp_path / "data")
    assert len(datasets.load_heldout("zh_emotion", data)) == 2  # rows also in fit/dev dropped
    out = tmp_path / "acc.json"
    assert accuracy.main(["--data", str(data), "--json", str(out), "--limit", "50"]) == 0
    printed = capsys.readouterr().out
    assert "| zh (held-out) | vocscore | snownlp | n |" in printed
    assert "| en (held-out) | vocscore | VADER | n |" in printed
    result = json.loads(out.read_text(encoding="utf-8"))
    for key in ("zh_emotion", "en_emotion", "en_intents", "zh_reviews", "checks", "speed"):
        assert key in result
    assert result["en_emotion"]["rows"] == 4
    assert 0.0 <= result["zh_reviews"]["utterance"]["accuracy"] <= 1.0
    assert result["speed"]["vader"]["utterances"] > 0
    assert result["checks"]["neutral"] > 100
    assert result["checks_en"]["neutral"] > 40 and "vader_neutral_kept" in result["checks_en"]
    kept = result["checks"]["neutral_kept"] + len(result["checks"]["neutral_signed"])
    assert kept == result["checks"]["neutral"]


def test_absent_data_skips(tmp_path: Path, capsys) -> None:
    assert accuracy.main(["--data", str(tmp_path / "absent")]) == 0
    assert "skipped" in capsys.readouterr().out


@pytest.mark.skipif(datasets.data_dir() is None, reason="labelled data not present")
def test_real_splits_are_disjoint_and_repeatable() -> None:
    for name in datasets.SETS:
        fit = datasets.load(name, "fit")
        dev = datasets.load(name, "dev")
        held = datasets.load_heldout(name)
        assert fit and dev and held
        texts = [{r.text for r in part} for part in (fit, dev, held)]
        assert not (texts[0] & texts[2]) and not (texts[1] & texts[2])
        datasets._parts.cache_clear()
        assert datasets.load(name, "fit") == fit
        assert datasets.load_heldout(name) == held
