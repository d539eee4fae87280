"""English examples from issue 10 and real bank, telecom and e-commerce phrasings, on the built-in lexicon."""

from __future__ import annotations

import pytest

from server.scoring import Analyzer


@pytest.fixture(scope="module")
def analyzer(lexicon) -> Analyzer:
    return Analyzer(lexicon)


def family(analyzer: Analyzer, text: str) -> set[str]:
    """Topic families (taxonomy parents) found in `text`."""
    return {t.topic.split(".")[0] for t in analyzer.analyze(text).topics}


def complaint(analyzer: Analyzer, text: str) -> bool:
    return any(t.polarity == "complaint" for t in analyzer.analyze(text).topics)


# Issue 10: English valence was at chance.
def test_hate_is_negative(analyzer: Analyzer) -> None:
    assert analyzer.analyze("I hate how long this takes").polarity == -1


def test_love_it_thanks_is_positive(analyzer: Analyzer) -> None:
    assert analyzer.analyze("love it, thanks!").polarity == 1


def test_charged_twice_is_a_payment_complaint(analyzer: Analyzer) -> None:
    text = "I was charged twice for the same order"
    assert family(analyzer, text) & {"payment", "billing"}
    assert complaint(analyzer, text)
    assert analyzer.analyze(text).polarity == -1


# What customers of banks, telcos and shops say, with the topic family they are about; each is
# a complaint (the customer reports a problem, with or without an emotional word).
COMPLAINTS = [
    ("My card was declined at the supermarket", "payment"),
    ("my card got declined again", "payment"),
    ("The payment didn't go through", "payment"),
    ("Why did my top up fail?", "payment"),
    ("My transfer failed and the money left my account", "payment"),
    ("I was charged twice for my coffee", "payment"),
    ("There is a duplicate charge on my card", "payment"),
    ("I returned the item but the refund is not showing up", "refund"),
    ("I still haven't received my refund", "refund"),
    ("where is my refund? it's been two weeks", "refund"),
    ("My package never arrived", "logistics"),
    ("the parcel still hasn't arrived", "logistics"),
    ("my order is late again", "logistics"),
    ("The box arrived damaged", "logistics"),
    ("I have no signal at home", "network"),
    ("no service on my phone since this morning", "network"),
    ("the internet keeps dropping", "network"),
    ("my broadband is so slow", "network"),
    ("The app keeps crashing", "product"),
    ("the app crashes every time I open it", "product"),
    ("My card was stolen", "account"),
    ("someone used my card without my permission", "account"),
    ("there is a payment I don't recognise on my statement", "account"),
    ("I think my account has been hacked", "account"),
    ("I can't log in to my account", "account"),
    ("I forgot my PIN and now my card is blocked", "account"),
    ("there's an extra fee on my bill I didn't agree to", "billing"),
    ("my bill is wrong this month", "billing"),
    ("I was charged for a subscription I cancelled", "billing"),
    ("I've been on hold for an hour", "service"),
    ("nobody has fixed my problem yet", "service"),
    ("the item I received is not what I ordered", "product"),
]


@pytest.mark.parametrize(("text", "expected"), COMPLAINTS)
def test_customer_complaint_topic_family(analyzer: Analyzer, text: str, expected: str) -> None:
    assert expected in family(analyzer, text), analyzer.analyze(text).topics
    assert complaint(analyzer, text), analyzer.analyze(text).topics


# Neutral requests and agent turns: no sign whatever topic they name.
NEUTRAL = [
    "Hello",
    "ok",
    "yes please",
    "Let me check that for you",
    "Could you confirm your date of birth?",
    "Please hold while I transfer you to the billing team",
    "Can I have your account number please?",
    "Is there anything else I can help you with?",
    "Your order was shipped yesterday",
    "One moment please",
    "Could you spell your last name for me?",
    "I'd like to check my balance",
    "How do I change my address?",
    "When will my parcel arrive?",
    "What is the status of my refund?",
    "I want to order a new card",
    "How do I top up my account?",
    "Which plan am I on?",
    "I'm calling about my bill",
    "Can you send me a new SIM card?",
]


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_phrases_stay_neutral(analyzer: Analyzer, text: str) -> None:
    analysis = analyzer.analyze(text)
    assert analysis.polarity == 0, analysis.matches
    assert analysis.emotion.label == "CALM"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am not happy with this", -1),
        ("not bad at all", 1),
        ("this is not good enough", -1),
        ("I don't like the new app", -1),
        ("The agent was nice but my problem is still not fixed", -1),
        ("It took a while but they sorted it out, great job", 1),
        ("thanks for nothing", -1),
        ("useless", -1),
        ("brilliant, thank you so much", 1),
        ("I'm really disappointed", -1),
        ("worst bank ever", -1),
        ("awesome", 1),
    ],
)
def test_polarity(analyzer: Analyzer, text: str, expected: int) -> None:
    assert analyzer.analyze(text).polarity == expected, analyzer.analyze(text).matches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("this is so annoying", "ANGRY"),
        ("I'm furious", "ANGRY"),
        ("I'm worried someone has my card details", "ANXIOUS"),
        ("thank you so much", "GRATEFUL"),
    ],
)
def test_label(analyzer: Analyzer, text: str, expected: str) -> None:
    assert analyzer.analyze(text).emotion.label == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":(", -1),
        (":-(", -1),
        (":)", 1),
        (":-)", 1),
        ("😡", -1),
        ("🙂", 1),
        ("👍", 1),
        ("😭", -1),
        ("thanks 😊", 1),
    ],
)
def test_emoticons_and_emoji(analyzer: Analyzer, text: str, expected: int) -> None:
    assert analyzer.analyze(text).polarity == expected


def test_all_caps_raises_arousal(analyzer: Analyzer) -> None:
    calm = analyzer.analyze("this is unacceptable").emotion
    shouted = analyzer.analyze("THIS IS UNACCEPTABLE").emotion
    assert shouted.valence == calm.valence < 0
    assert shouted.arousal > calm.arousal


def test_negation_does_not_reach_past_a_clause(analyzer: Analyzer) -> None:
    # "not" belongs to the first clause; "love" after the comma stays positive
    assert analyzer.analyze("I did not expect it, love it").polarity == 1
