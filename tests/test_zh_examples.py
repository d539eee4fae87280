"""The Chinese examples of issue 10, scored by the analyzer the server builds from its lexicons."""

from __future__ import annotations

import pytest

from server.config import Config
from server.engine import Engine
from server.scoring import Analysis, Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Engine(Config()).current.analyzer


def _complaints(analysis: Analysis) -> dict[str, str]:
    return {t.topic: t.polarity for t in analysis.topics if t.polarity == "complaint"}


def test_broken_delivery_promise_is_a_delay_complaint_not_happy(analyzer: Analyzer) -> None:
    # 说好 is not 好, and 还没到 is a delay.
    a = analyzer.analyze("说好的今天送达，现在都晚上十点了还没到！！！")
    assert a.polarity == -1
    assert a.emotion.label in ("ANGRY", "DISAPPOINTED")
    assert "logistics.delay" in _complaints(a)


def test_conditional_negation_does_not_flip_an_escalation_threat(analyzer: Analyzer) -> None:
    # The 不 of 再不 belongs to 处理, not to 投诉.
    a = analyzer.analyze("再不处理我就投诉到消协")
    assert a.polarity == -1
    assert a.emotion.label != "SATISFIED"
    assert a.escalation == "投诉到消协"
    assert not any(m.negated for m in a.matches if m.kind == "escalation")


def test_a_demanding_question_is_negative(analyzer: Analyzer) -> None:
    a = analyzer.analyze("你们到底管不管")
    assert a.polarity == -1
    assert a.emotion.label != "CALM"


def test_payment_entity_and_failure_make_a_payment_failure(analyzer: Analyzer) -> None:
    a = analyzer.analyze("微信支付提示失败，试了好几次都付不了")
    assert a.polarity == -1
    assert "payment.failure" in _complaints(a)


def test_app_and_crash_make_a_product_bug(analyzer: Analyzer) -> None:
    a = analyzer.analyze("APP一打开就闪退，根本没法用")
    assert a.polarity == -1
    assert "product.bug" in _complaints(a)


def test_agent_ticket_asking_to_verify_an_unwanted_plan_change_is_a_complaint(
    analyzer: Analyzer,
) -> None:
    # 接收 is not praise, the 更 of 更改 is not an intensifier, 要求核实 marks a complaint.
    a = analyzer.analyze(
        "客户表示在10月接收到10086短信提示更改成4G套餐…不是自己更改的，客户要求核实"
    )
    assert a.polarity <= 0
    assert a.emotion.label not in ("HAPPY", "SATISFIED", "GRATEFUL")
    complaints = _complaints(a)
    assert complaints, a.topics
    assert any(t.startswith("billing.") for t in complaints), a.topics
    words = {m.term for m in a.matches if m.kind == "modifier"}
    assert "更" not in words


def test_vocabulary_words_hide_the_modifiers_inside_them(analyzer: Analyzer) -> None:
    a = analyzer.analyze("我想更改一下地址")
    assert [m for m in a.matches if m.kind == "modifier"] == []
    assert a.polarity == 0
    # a vocabulary word adds nothing itself: 更 still intensifies where it is a word of its own
    b = analyzer.analyze("比上次更满意")
    assert b.polarity == 1


def test_the_committed_vocabulary_is_what_the_script_writes() -> None:
    jieba = pytest.importorskip("jieba")
    from lexicons.tools import build_vocab

    words, _ = build_vocab.build(
        build_vocab.read_dictionary(build_vocab.default_dict()),
        build_vocab.zh_terms(),
        build_vocab.MIN_FREQ,
    )
    assert jieba.__version__ == "0.42.1"
    assert build_vocab.DEFAULT_OUT.read_text(encoding="utf-8") == build_vocab.render(words)


@pytest.mark.parametrize(
    "text",
    [
        "再不处理我就投诉到消协",
        "你们不给退款我就打12315",
        "你们再不退款我要投诉到消协",
        "If you don't fix this I'll report you",
        "refund me or I will take legal action",
    ],
)
def test_conditional_negation_never_flips_a_threat(analyzer: Analyzer, text: str) -> None:
    a = analyzer.analyze(text)
    assert a.escalation
    assert a.polarity == -1
    assert all(not m.negated for m in a.matches if m.kind == "escalation")


@pytest.mark.parametrize(
    "text", ["我不会投诉到消协的，放心", "I will not cancel my account, I just want help"]
)
def test_a_denied_threat_is_no_threat(analyzer: Analyzer, text: str) -> None:
    a = analyzer.analyze(text)
    assert a.escalation == ""
    assert a.emotion.label != "ANGRY"


def test_an_alarm_device_is_no_threat(analyzer: Analyzer) -> None:
    assert analyzer.analyze("厨房的烟雾报警器一直响").escalation == ""
    assert analyzer.analyze("你们再不来我就报警").escalation == "报警"


def test_a_denied_complaint_marker_makes_no_complaint(analyzer: Analyzer) -> None:
    a = analyzer.analyze("我没有投诉，只是问一下套餐")
    assert not any(t.polarity == "complaint" for t in a.topics)
    assert a.escalation == ""


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("最近老是收到垃圾短信", "account.security"),
        ("每天好几个骚扰电话", "account.security"),
        ("我的信用卡被盗刷了", "account.security"),
        ("路由器老是断网", "network.outage"),
    ],
)
def test_telecom_and_banking_surface_forms(analyzer: Analyzer, text: str, topic: str) -> None:
    a = analyzer.analyze(text)
    assert topic in _complaints(a), a.topics


def test_score_utterance_carries_the_escalation_threat(client) -> None:
    from clients.pb import voc_pb2

    def score(text: str) -> voc_pb2.UtteranceScore:
        u = voc_pb2.Utterance(
            interaction_id="esc-1",
            customer_id="esc-c1",
            speaker=voc_pb2.CUSTOMER,
            channel=voc_pb2.VOICE,
            text=text,
        )
        return client.voc.ScoreUtterance(u, timeout=5)

    calm = score("我想查一下话费")
    assert not calm.escalation_threat and calm.escalation_phrase == ""
    threat = score("再不处理我就投诉到消协")
    assert threat.escalation_threat and threat.escalation_phrase == "投诉到消协"
    assert threat.emotion.valence < 0

    card = client.voc.GetSummaryCard(
        voc_pb2.CardRequest(customer_id="esc-c1", interaction_id="esc-1"), timeout=5
    )
    assert card.escalation_threat and card.escalation_phrase == "投诉到消协"
    assert not client.voc.GetSummaryCard(
        voc_pb2.CardRequest(customer_id="esc-c1"), timeout=5
    ).escalation_threat


@pytest.mark.parametrize(("locale", "line"), [("zh", "投诉到消协"), ("en", "escalate")])
def test_a_threat_makes_the_card_red_with_an_alert(locale: str, line: str) -> None:
    from server.card import assemble_card
    from server.config import CardConfig
    from server.lexicon import load_lexicon
    from server.profiles import new_profile

    now = 1_800_000_000_000
    profile = new_profile("C1", now - 86_400_000)
    profile["tier"] = "VIP"
    kw = {"now_ms": now, "locale": locale, "texts": load_lexicon(), "cfg": CardConfig()}
    quiet = assemble_card("C1", profile, **kw)
    card = assemble_card("C1", profile, escalation_phrase="投诉到消协", **kw)
    assert card.escalation_phrase == "投诉到消协"
    assert any(line in a for a in card.alerts) and not quiet.alerts
    assert card.priority == "RED" and quiet.priority != "RED"
