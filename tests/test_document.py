"""Document polarity: the bag-of-n-grams kernel, `polarity` lexicon files, analyze_document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import utterance as ku
from server.lexicon import LexiconError, check_dirs, load_lexicon
from server.scoring import Analyzer
from tests.test_scoring import ZH, write_lexicon

POLARITY = """term\tweight\tnotes
# a tiny document model: intercept, valence coefficient, n-grams
(bias)\t0.25\t
(valence)\t2.0\t
好评\t1.5\t
差评\t-2.0\t
退货\t-0.75\t
发货\t0.5\t
"""


def _units(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(ku.UTF16, "surrogatepass"), dtype=np.uint16)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.dictionaries(
        st.text(alphabet="ab好不😀", min_size=1, max_size=3),
        st.floats(-5, 5, allow_nan=False),
        min_size=1,
        max_size=6,
    ),
    text=st.text(alphabet="ab好不😀 ", max_size=30),
)
def test_bag_counts_every_occurrence(weights: dict[str, float], text: str) -> None:
    keys = sorted(weights)
    kernel = ku.BagKernel([ku.code_units(k) for k in keys], np.array([weights[k] for k in keys]))
    hits, total = kernel.score(_units(text))
    # overlapping occurrences, as str.find from every position counts them
    want = [(k, sum(text.startswith(k, i) for i in range(len(text)))) for k in keys]
    assert hits == sum(n for _, n in want)
    assert total == pytest.approx(sum(weights[k] * n for k, n in want), abs=1e-9)


def test_bag_checks_its_weights() -> None:
    with pytest.raises(ValueError, match="finite"):
        ku.BagKernel(["ab"], np.array([np.inf]))
    with pytest.raises(ValueError, match="one per key"):
        ku.BagKernel(["ab", "b"], np.array([1.0]))


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    root = write_lexicon(tmp_path_factory.mktemp("lex"), zh=ZH | {"polarity.tsv": POLARITY})
    return Analyzer(load_lexicon([root], include_builtin=False))


def test_document_polarity_is_the_sign_of_the_model(documents: Analyzer) -> None:
    text = "发货很快，好评好评"
    valence = documents.analyze(text).emotion.valence
    z = 0.25 + 2.0 * valence + 0.5 + 1.5 * 2
    assert documents.analyze_document(text).polarity == (1 if z > 0 else -1)
    # the n-grams outweigh a mildly positive utterance reading
    assert documents.analyze_document("质量不错，但是差评差评，要退货").polarity == -1


def test_document_without_evidence_is_neutral(documents: Analyzer) -> None:
    assert documents.analyze_document("你好").polarity == 0
    assert documents.analyze_document("").polarity == 0


def test_rows_match_the_text_as_written(documents: Analyzer) -> None:
    """Fitted on text as written: a traditional form is its own n-gram, never a variant."""
    assert documents.analyze_document("差評差評").polarity == 0
    assert documents.analyze_document("差评差评").polarity == -1


def test_language_without_a_model_keeps_the_utterance_polarity(documents: Analyzer) -> None:
    for text in ("great product, very happy", "delivery was terrible", "hello"):
        assert documents.analyze_document(text) == documents.analyze(text, with_matches=False)


def test_documents_do_not_change_utterances(documents: Analyzer, tmp_path: Path) -> None:
    plain = Analyzer(load_lexicon([write_lexicon(tmp_path / "lex")], include_builtin=False))
    for text in ("发货很快，好评好评", "质量不错，但是差评，要退货", "快递一周了还没到"):
        assert documents.analyze(text) == plain.analyze(text)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("好评\tmany\t", "is not a number"),
        ("好评\t101\t", "out of range"),
        ("好评\t1\n好评\t2\t", "duplicate term"),
    ],
)
def test_polarity_rows_are_checked(tmp_path: Path, row: str, reason: str) -> None:
    bad = "term\tweight\tnotes\n" + row + "\n"
    root = write_lexicon(tmp_path / "lex", zh=ZH | {"polarity.tsv": bad})
    errors = check_dirs([root], include_builtin=False)
    assert errors and "polarity.tsv:" in errors[0] and reason in errors[0]
    with pytest.raises(LexiconError, match=reason):
        load_lexicon([root], include_builtin=False)
