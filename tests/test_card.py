"""Card assembly over plain profiles: NPS category, recent topics, priority matrix, texts."""

from __future__ import annotations

import pytest

from server.card import CardEmotion, assemble_card
from server.config import CardConfig
from server.profiles import DAY_MS, add_event, new_profile, nps_category

NOW = 1_780_000_000_000


def profile(tier="STANDARD", nps=None, events=(), name=""):
    p = new_profile("C1", NOW - 100 * DAY_MS)
    p["tier"], p["name"] = tier, name
    if nps is not None:
        p["nps"] = {"score": nps, "at": NOW - 6 * DAY_MS}
    for days_ago, topics in events:
        add_event(
            p,
            {"t": NOW - int(days_ago * DAY_MS), "k": "complaint", "tp": topics},
            now_ms=NOW,
            history_days=90,
            max_events=200,
        )
    return p


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (None, "UNKNOWN"),
        (0, "DETRACTOR"),
        (6, "DETRACTOR"),
        (7, "PASSIVE"),
        (8, "PASSIVE"),
        (9, "PROMOTER"),
        (10, "PROMOTER"),
    ],
)
def test_nps_category_bounds(score, category) -> None:
    assert nps_category(score) == category


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_detractor_with_logistics_complaint_last_week(lexicon, locale) -> None:
    p = profile("VVIP", nps=3, events=[(6, [["logistics.delay", "complaint"]])])
    card = assemble_card("C1", p, now_ms=NOW, locale=locale, texts=lexicon, cfg=CardConfig())
    assert card.known and card.nps_category == "DETRACTOR" and card.nps_score == 3
    assert [t.topic for t in card.topics] == ["logistics.delay"]
    label = lexicon.label("logistics.delay", locale)
    assert card.topics[0].label == label
    assert any("NPS 3" in a for a in card.alerts)
    assert any(label in a for a in card.alerts)
    assert card.opening_line == lexicon.opening("logistics.delay", "complaint", locale)
    assert card.priority == "RED"  # a VVIP detractor with a fresh complaint


def test_english_alert_reads_like_a_sentence(lexicon) -> None:
    p = profile(nps=3, events=[(6, [["logistics.delay", "complaint"]])])
    card = assemble_card("C1", p, now_ms=NOW, locale="en", texts=lexicon, cfg=CardConfig())
    assert "VoC alert: NPS 3 (detractor)" in card.alerts
    assert f"Complaint 6 days ago: {lexicon.label('logistics.delay', 'en')}" in card.alerts


def test_topics_older_than_window_are_left_out_and_counts_add_up(lexicon) -> None:
    p = profile(
        events=[
            (45, [["price.expensive", "complaint"]]),
            (20, [["logistics.delay", "complaint"]]),
            (2, [["logistics.delay", "complaint"], ["service.attitude", "praise"]]),
        ]
    )
    card = assemble_card("C1", p, now_ms=NOW, locale="zh", texts=lexicon, cfg=CardConfig())
    got = {(t.topic, t.polarity): t.count for t in card.topics}
    assert got == {("logistics.delay", "complaint"): 2, ("service.attitude", "praise"): 1}
    assert card.topics[0].last_seen_ms == NOW - 2 * DAY_MS


@pytest.mark.parametrize(
    ("tier", "nps", "days", "angry", "expected"),
    [
        ("STANDARD", 9, None, False, "GREEN"),
        ("STANDARD", 5, None, False, "GREEN"),
        ("VIP", 5, None, False, "YELLOW"),
        ("VVIP", None, None, False, "YELLOW"),
        ("STANDARD", None, None, True, "YELLOW"),
        ("VIP", 2, 3, False, "RED"),
        ("STANDARD", 2, 3, False, "ORANGE"),
        (
            "VVIP",
            9,
            20,
            False,
            "YELLOW",
        ),  # a complaint older than fresh_days does not raise severity
    ],
)
def test_priority_matrix(lexicon, tier, nps, days, angry, expected) -> None:
    events = [(days, [["logistics.delay", "complaint"]])] if days is not None else []
    p = profile(tier, nps=nps, events=events)
    live = CardEmotion("ANGRY", 0.9, -0.8, 0.9) if angry else None
    card = assemble_card(
        "C1", p, now_ms=NOW, locale="zh", texts=lexicon, cfg=CardConfig(), live_emotion=live
    )
    assert card.priority == expected


def test_unknown_customer_is_a_card_not_an_error(lexicon) -> None:
    card = assemble_card("nobody", None, now_ms=NOW, locale="en", texts=lexicon, cfg=CardConfig())
    assert not card.known and card.topics == [] and card.alerts == []
    assert card.server_time_us == NOW * 1000


def test_incidents_touching_topics_show_and_raise_priority(lexicon) -> None:
    p = profile(events=[(1, [["payment.failure", "complaint"]])])
    seen = []

    def incidents(topics):
        seen.append(topics)
        return [{"key": "支付失败", "level": "P0"}]

    card = assemble_card(
        "C1", p, now_ms=NOW, locale="zh", texts=lexicon, cfg=CardConfig(), incidents=incidents
    )
    assert seen == [["payment.failure"]]
    assert any("支付失败" in a for a in card.alerts)


def test_history_is_bounded_by_age_and_count() -> None:
    p = new_profile("C1", NOW)
    for i in range(300):
        add_event(
            p,
            {"t": NOW - (299 - i) * 3_600_000, "k": "comment", "tp": []},
            now_ms=NOW,
            history_days=90,
            max_events=200,
        )
    assert len(p["events"]) == 200
    add_event(
        p,
        {"t": NOW + 91 * DAY_MS, "k": "comment", "tp": []},
        now_ms=NOW + 91 * DAY_MS,
        history_days=90,
        max_events=200,
    )
    assert len(p["events"]) == 1
