"""English written feedback: analyze_document reads en/polarity_goemotions.tsv, live scoring does not."""

from __future__ import annotations

import pytest

from server.scoring import Analyzer


@pytest.fixture(scope="module")
def analyzer(lexicon) -> Analyzer:
    return Analyzer(lexicon)


def test_the_english_model_is_loaded(lexicon) -> None:
    weights = lexicon.polarity["en"]
    assert len(weights) > 10000
    assert weights["(valence)"] > 0  # it leans on the utterance model, not against it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The delivery was quick and the support team sorted everything out, lovely people", 1),
        ("Really impressed with how fast my refund came through", 1),
        ("Honestly the best customer service I have had in years", 1),
        ("Terrible experience, the app keeps crashing and nobody ever answers", -1),
        ("I waited three weeks for a replacement and it still never came", -1),
        ("Worst bank I have ever dealt with, hidden fees everywhere", -1),
    ],
)
def test_feedback_polarity(analyzer: Analyzer, text: str, expected: int) -> None:
    assert analyzer.analyze_document(text).polarity == expected


def test_live_scoring_ignores_the_document_model(analyzer: Analyzer) -> None:
    # a plain request: the document model would give it a sign, the utterance model does not
    text = "Could you confirm your date of birth?"
    assert analyzer.analyze(text).polarity == 0
    assert analyzer.analyze_document(text).polarity != 0


def test_document_model_fixes_what_the_words_miss(analyzer: Analyzer) -> None:
    # no lexicon word is negative here; the n-grams of "never", "again" and "waste" are
    text = "never again, waste of my time"
    assert analyzer.analyze_document(text).polarity == -1
