"""The learned emotion model: its n-gram kernel against a pure-Python reference, the `learned`
table format, the decision rule, the scoring path, and the committed weights against a refit."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import datasets
from bench.accuracy import CHECKS, CHECKS_EN, read_checks
from kernels.ngram import NgramKernel
from kernels.utterance import UTF16, code_units
from server.emotion_model import (
    BIAS,
    COLUMNS,
    DENSE,
    DENSE_TERMS,
    SETTING_TERMS,
    SETTINGS,
    LearnedEmotions,
)
from server.lexicon import HEADERS, LexiconError, load_lexicon
from server.scoring import LABELS, Analyzer, Typing

# ---- the kernel against a pure-Python reference ------------------------------------------------


def units_of(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(UTF16, "surrogatepass"), dtype=np.uint16)


def naive_sums(keys: list[str], weights: np.ndarray, text: str) -> tuple[int, np.ndarray]:
    """Every occurrence of every key, overlapping ones too, found with str.find."""
    hits = 0
    out = np.zeros(weights.shape[1])
    for key, row in zip(keys, weights, strict=True):
        start = text.find(key)
        while start >= 0:
            hits += 1
            out += row
            start = text.find(key, start + 1)
    return hits, out


def naive_linear(keys, weights, bias, dense_w, power, text, dense) -> tuple[int, np.ndarray]:
    hits, sums = naive_sums(keys, weights, text)
    scale = 1.0 / hits**power if hits > 1 else 1.0
    return hits, bias + np.asarray(dense) @ dense_w + sums * scale


ALPHABET = "ab好不😀 "


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.text(ALPHABET, min_size=1, max_size=4), min_size=1, max_size=12, unique=True),
    text=st.text(ALPHABET, max_size=40),
    seed=st.integers(0, 2**32 - 1),
    power=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_ngram_kernel_agrees_with_reference(keys, text, seed, power) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(len(keys), 3))
    bias = rng.normal(size=3)
    dense_w = rng.normal(size=(2, 3))
    dense = rng.normal(size=2)
    kernel = NgramKernel([code_units(k) for k in keys], weights, bias, dense_w, power)
    hits, sums = kernel.sums(units_of(text))
    want_hits, want_sums = naive_sums(keys, weights, text)
    assert hits == want_hits
    np.testing.assert_allclose(sums, want_sums, rtol=1e-9, atol=1e-9)
    outputs = kernel.score(units_of(text), dense)
    _, want = naive_linear(keys, weights, bias, dense_w, power, text, dense)
    np.testing.assert_allclose(outputs, want, rtol=1e-9, atol=1e-9)


def test_ngram_kernel_counts_overlaps_and_keys_inside_keys() -> None:
    kernel = NgramKernel(
        ["好", "好好"], np.array([[1.0, 0.0], [0.0, 10.0]]), np.zeros(2), np.zeros((0, 2))
    )
    hits, sums = kernel.sums(units_of("好好好"))
    assert hits == 5  # 好 three times, 好好 twice
    assert sums.tolist() == [3.0, 20.0]
    assert kernel.score(units_of(""), np.zeros(0)) == [0.0, 0.0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["a"], np.zeros((1, 2)), np.zeros(3), np.zeros((0, 3))), "weights must have shape"),
        ((["a"], np.zeros((1, 2)), np.zeros((2, 1)), np.zeros((0, 2))), "bias must be a 1-D"),
        ((["a"], np.zeros((1, 2)), np.zeros(2), np.zeros((1, 3))), "dense_w must have shape"),
        ((["a"], np.full((1, 2), np.nan), np.zeros(2), np.zeros((0, 2))), "weights must be finite"),
        ((["a"], np.zeros((1, 2)), np.zeros(2), np.zeros((0, 2)), -1.0), "power must be"),
    ],
)
def test_ngram_kernel_checks_its_tables(args, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NgramKernel(*args)


# ---- the table format and the decision rule ----------------------------------------------------


def table_rows(grams: dict[str, tuple[float, ...]], **settings: float) -> dict:
    """A learned table: zero intercepts and dense weights, the given n-grams and settings."""
    zero = (0.0,) * len(COLUMNS)
    rows = {BIAS: zero, **{t: zero for t in DENSE_TERMS}}
    values = {"power": 0.0, "gate_signed": 0.5, "gate_unsigned": 0.5}
    values |= {"margin_unsigned": 0.0, "min_units_unsigned": 0.0, "angry_boost": 1.0}
    values |= {"min_units_signed": 0.0} | settings
    for name, term in zip(SETTINGS, SETTING_TERMS, strict=True):
        rows[term] = (values[name],) + zero[1:]
    return rows | grams


def decide(model: LearnedEmotions, text: str, kernel_polarity: int = 0, kernel_label: int = 0):
    label, polarity, valence = model.decide(
        units_of(text), [0.0] * len(DENSE), kernel_polarity, kernel_label
    )
    return LABELS[label], polarity, valence


# columns: angry, sad, fear, happy, neutral, valence
GRAMS = {
    "棒": (0.0, 0.0, 0.0, 5.0, 0.0, 2.0),
    "气": (5.0, 0.0, 0.0, 0.0, 0.0, -3.0),
    "怕": (0.0, 0.0, 5.0, 0.0, 0.0, -3.0),
    "嗯": (0.0, 0.0, 0.0, 0.0, 5.0, 0.5),
}


def test_the_model_decides_label_polarity_and_valence() -> None:
    model = LearnedEmotions(table_rows(GRAMS))
    label, polarity, valence = decide(model, "真棒")
    assert (label, polarity) == ("SATISFIED", 1)
    assert valence == pytest.approx(2.0 / (1.0 + math.exp(-2.0)) - 1.0)
    assert decide(model, "生气")[:2] == ("ANGRY", -1)
    assert decide(model, "害怕")[:2] == ("ANXIOUS", -1)
    # the angry boost moves the angry / fear boundary
    assert decide(model, "生气害怕")[0] == "ANGRY"  # a tie goes to angry
    bold = LearnedEmotions(table_rows(GRAMS, angry_boost=0.5))
    assert decide(bold, "生气害怕")[0] == "ANXIOUS"
    assert decide(model, "嗯")[:2] == ("CALM", 0)  # P(neutral) over the gate
    # the kernel's finer label of the same class stays; another class's does not
    assert decide(model, "真棒", 1, LABELS.index("GRATEFUL"))[0] == "GRATEFUL"
    assert decide(model, "真棒", -1, LABELS.index("ANGRY"))[0] == "SATISFIED"


def test_unsigned_gates_keep_short_and_weak_texts_neutral() -> None:
    model = LearnedEmotions(table_rows(GRAMS, min_units_unsigned=4.0, margin_unsigned=0.9))
    assert decide(model, "真棒")[:2] == ("CALM", 0)  # short, and the kernel saw nothing
    assert decide(model, "真棒", 1, LABELS.index("SATISFIED"))[1] == 1  # the kernel gave a sign
    assert decide(model, "真棒真棒真棒")[:2] == ("SATISFIED", 1)  # valence 0.9999 > 0.9
    weak = LearnedEmotions(table_rows(GRAMS, margin_unsigned=0.99))
    assert decide(weak, "真棒")[:2] == ("CALM", 0)


def test_a_short_text_the_lexicons_signed_keeps_their_reading() -> None:
    model = LearnedEmotions(table_rows(GRAMS, min_units_signed=4.0))
    dense = [0.0] * len(DENSE)
    dense[0] = -0.6  # the kernel's valence
    kernel = (LABELS.index("ANGRY"), -1)
    assert model.decide(units_of("真棒"), dense, kernel[1], kernel[0]) == (*kernel, -0.6)
    assert model.decide(units_of("真棒真棒"), dense, kernel[1], kernel[0])[1] == 1


def test_a_learned_table_loads_and_bad_rows_name_the_line(tmp_path: Path) -> None:
    header = "\t".join(HEADERS["learned"])
    (tmp_path / "en").mkdir()
    good = tmp_path / "en" / "learned_test.tsv"
    good.write_text(f"{header}\n# a comment\nzzqx\t1\t2\t3\t4\t5\t-6\tnote\n", encoding="utf-8")
    lexicon = load_lexicon([tmp_path])
    assert lexicon.learned["en"]["zzqx"] == (1.0, 2.0, 3.0, 4.0, 5.0, -6.0)
    assert lexicon.counts()["learned"] >= 1
    for bad, reason in (("zzqx\t1\t2\t3\n", "expected 8"), ("zzqx\t1\t2\t3\t4\t5\tx\t\n", "not a")):
        good.write_text(f"{header}\n{bad}", encoding="utf-8")
        with pytest.raises(LexiconError, match=rf"learned_test.tsv:2: .*{reason}"):
            load_lexicon([tmp_path])


# ---- the scoring path --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_lexicon())


SAMPLES = (
    "今天真开心，谢谢大家",
    "我好害怕这个病毒啊怎么办",
    "气死我了，什么破服务",
    "这也太离谱了吧，一个多月了还没人管",
    "收到，谢谢",
    "I hate how long this takes",
    "love it, thanks!",
    "this is so sad, I miss him",
    "what a ridiculous answer, you people never read",
    "ok",
)


def test_the_server_reads_what_the_fitting_script_reads(analyzer: Analyzer) -> None:
    """Analyzer.analyze gives the decision of the model on the fitting script's features."""
    from lexicons.tools.fit_emotions import reading

    models = analyzer._learned
    assert set(models) == {"zh", "en"}
    for text in SAMPLES:
        norm, units, dense, polarity, label = reading(analyzer, text)
        model = models["zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"]
        want_label, want_polarity, want_valence = model.decide(units, dense, polarity, label)
        got = analyzer.analyze(text)
        assert (got.emotion.label, got.polarity) == (LABELS[want_label], want_polarity), text
        assert got.emotion.valence == want_valence
        assert analyzer.analyze(text, with_matches=False).emotion == got.emotion


def test_hand_weights_keep_threats_and_typing(analyzer: Analyzer) -> None:
    threat = "再不处理我就投诉到消协"
    assert analyzer.analyze(threat) == analyzer.analyze(threat, learned=False)
    text = "这也太离谱了吧，一个多月了还没人管"
    assert analyzer.analyze(text).polarity == -1
    fast = Typing(chars=40, elapsed_ms=2000, deletions=20)  # 20 chars/s with rewording
    assert analyzer.analyze(text, typing=fast).emotion.label == "ANGRY"


@pytest.mark.parametrize("path", [CHECKS, CHECKS_EN], ids=["zh", "en"])
def test_no_neutral_check_phrase_is_newly_signed(analyzer: Analyzer, path: Path) -> None:
    newly = [
        text
        for text, expected in read_checks(path)
        if expected == 0
        and analyzer.analyze(text, learned=False).polarity == 0
        and analyzer.analyze(text).polarity != 0
    ]
    assert newly == []


def test_without_learned_tables_the_kernel_decides(analyzer: Analyzer) -> None:
    bare = Analyzer(dataclasses.replace(analyzer.lexicon, learned={}))
    for text in SAMPLES:
        assert bare.analyze(text) == analyzer.analyze(text, learned=False)


# ---- the committed weights ---------------------------------------------------------------------


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_committed_weights_are_what_the_script_fits(lang: str, analyzer: Analyzer) -> None:
    if datasets.data_dir() is None:
        pytest.skip("labelled data not found (../shared/data or $VOCSCORE_DATA): cannot refit")
    from lexicons.tools import fit_emotions

    model, _ = fit_emotions.build(lang, analyzer, verbose=False)
    fitted = model.rows()
    committed = analyzer.lexicon.learned[lang]
    assert set(fitted) == set(committed)
    for term in SETTING_TERMS:
        assert fitted[term] == committed[term], term
    got = np.array([committed[t] for t in sorted(fitted)])
    want = np.array([fitted[t] for t in sorted(fitted)])
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_the_accuracy_report_shows_the_lexicon_kernel_alone(tmp_path: Path, capsys) -> None:
    from bench import accuracy
    from tests.test_accuracy import tiny_data

    data = tiny_data(tmp_path / "data")
    assert accuracy.main(["--data", str(data), "--limit", "50", "--sets", "zh_emotion"]) == 0
    assert "| weibo emotion, lexicon kernel alone: valence / anger F1 / macro-F1 |" in (
        capsys.readouterr().out
    )
