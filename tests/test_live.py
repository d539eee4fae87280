"""InteractionState: running emotion, topics, peak emotion and the escalation flag."""

from __future__ import annotations

import pytest
from test_scoring import write_lexicon  # tests/ is on sys.path (pytest rootdir-relative import)

from server.lexicon import load_lexicon
from server.live import InteractionState, LiveParams
from server.scoring import Analysis, Analyzer, Emotion


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    root = write_lexicon(tmp_path_factory.mktemp("lex"))
    return Analyzer(load_lexicon([root], include_builtin=False))


STREAM = ("你好", "我的快递一周了还没到", "你们到底怎么回事！！！再不解决我就投诉")


def test_acceptance_stream(analyzer: Analyzer) -> None:
    state = InteractionState()
    labels, flags = [], []
    for i, text in enumerate(STREAM):
        live, escalation = state.update(analyzer.analyze(text), "CUSTOMER", 1_000 + 5_000 * i)
        labels.append(live.label)
        flags.append(escalation)
    assert labels[0] == "CALM"
    assert labels[-1] == "ANGRY"
    assert flags == [False, False, True]
    summary = state.summary()
    assert summary.topics[0].topic == "logistics.delay"
    assert summary.topics[0].polarity == "complaint"
    assert summary.peak_emotion.label == "ANGRY"
    assert summary.peak_emotion.intensity >= 0.8
    assert summary.escalated
    assert summary.utterance_count == summary.customer_utterance_count == 3
    assert summary.last_update_ms == 11_000


def test_agent_utterances_do_not_move_the_customer_state(analyzer: Analyzer) -> None:
    state = InteractionState()
    live, escalation = state.update(analyzer.analyze(STREAM[2]), "AGENT", 1_000)
    assert live.label == "CALM" and not escalation
    summary = state.summary()
    assert summary.topics == () and summary.utterance_count == 1
    assert summary.customer_utterance_count == 0 and not summary.escalated


def test_escalation_fires_once_per_crossing(analyzer: Analyzer) -> None:
    state = InteractionState()
    angry = analyzer.analyze(STREAM[2])
    flags = [state.update(angry, "customer", 1_000 * i)[1] for i in range(4)]
    assert flags[0] is True and flags[1:] == [False, False, False]


def _utterance(valence: float, label: str, intensity: float, arousal: float) -> Analysis:
    return Analysis((), (), Emotion(label, intensity, valence, arousal), (), -1)


def test_decay_and_half_life() -> None:
    params = LiveParams(half_life_utterances=1.0, half_life_ms=10_000.0)
    state = InteractionState(params)
    state.update(_utterance(-0.8, "ANGRY", 0.9, 0.9), "CUSTOMER", 0)
    assert state.live().valence == pytest.approx(-0.8)
    # Same time: the old state keeps half its weight.
    state.update(_utterance(0.0, "CALM", 0.0, 0.2), "CUSTOMER", 0)
    assert state.live().valence == pytest.approx(-0.4)
    # Ten seconds of silence halve it once more before the new utterance's half.
    state.update(_utterance(0.0, "CALM", 0.0, 0.2), "CUSTOMER", 10_000)
    assert state.live().valence == pytest.approx(-0.1)
    assert state.summary().peak_emotion.valence == -0.8


def test_jump_without_crossing_the_level() -> None:
    state = InteractionState(LiveParams(escalation_level=0.99, escalation_jump=0.2))
    _, escalation = state.update(_utterance(-0.9, "ANGRY", 0.5, 0.9), "CUSTOMER", 0)
    assert escalation  # 0 -> 0.5 climbs by more than 0.2


def test_topic_counts_and_polarity(analyzer: Analyzer) -> None:
    state = InteractionState()
    for i, text in enumerate(("物流太慢", "还没到", "质量不错", "质量")):
        state.update(analyzer.analyze(text), "CUSTOMER", i)
    topics = {t.topic: t for t in state.summary().topics}
    assert topics["logistics.delay"].count == 2
    assert topics["logistics.delay"].max_score == 0.9
    assert topics["product.quality"].polarity == "praise"  # neutral mention does not erase it
    assert topics["product.quality"].count == 2
