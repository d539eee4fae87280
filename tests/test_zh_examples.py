"""The Chinese examples of issue 10, scored by the analyzer the server builds from its lexicons."""

from __future__ import annotations

import pytest

from server.config import Config
from server.engine import Engine
from server.scoring import Analysis, Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Engine(Config()).current.analyzer


FAILS = pytest.mark.xfail(strict=True, reason="issue 10: not read right yet")


def _complaints(analysis: Analysis) -> dict[str, str]:
    return {t.topic: t.polarity for t in analysis.topics if t.polarity == "complaint"}


@FAILS
def test_broken_delivery_promise_is_a_delay_complaint_not_happy(analyzer: Analyzer) -> None:
    # 说好 is not 好, and 还没到 is a delay.
    a = analyzer.analyze("说好的今天送达，现在都晚上十点了还没到！！！")
    assert a.polarity == -1
    assert a.emotion.label in ("ANGRY", "DISAPPOINTED")
    assert "logistics.delay" in _complaints(a)


@FAILS
def test_conditional_negation_does_not_flip_an_escalation_threat(analyzer: Analyzer) -> None:
    # The 不 of 再不 belongs to 处理, not to 投诉.
    a = analyzer.analyze("再不处理我就投诉到消协")
    assert a.polarity == -1
    assert a.emotion.label != "SATISFIED"
    assert a.escalation == "投诉到消协"
    assert not any(m.negated for m in a.matches if m.kind == "escalation")


@FAILS
def test_a_demanding_question_is_negative(analyzer: Analyzer) -> None:
    a = analyzer.analyze("你们到底管不管")
    assert a.polarity == -1
    assert a.emotion.label != "CALM"


@FAILS
def test_payment_entity_and_failure_make_a_payment_failure(analyzer: Analyzer) -> None:
    a = analyzer.analyze("微信支付提示失败，试了好几次都付不了")
    assert a.polarity == -1
    assert "payment.failure" in _complaints(a)


@FAILS
def test_app_and_crash_make_a_product_bug(analyzer: Analyzer) -> None:
    a = analyzer.analyze("APP一打开就闪退，根本没法用")
    assert a.polarity == -1
    assert "product.bug" in _complaints(a)


@FAILS
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
