"""The real server on a loopback port, driven by the real client: cards, feedback, dashboards."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from clients.client import VocClient
from clients.pb import admin_pb2, voc_pb2

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


@pytest.fixture(scope="module")
def seeded(client: VocClient) -> VocClient:
    summary = client.upsert_profiles(
        [
            {"customer_id": "zh-1", "tier": "VVIP", "name": "王芳", "locale": "zh"},
            {"customer_id": "en-1", "tier": "VIP", "name": "Emily Clark", "locale": "en"},
        ]
    )
    assert (summary.upserted, summary.rejected) == (2, 0)
    week_ago = now_ms() - 6 * DAY_MS
    client.feedback("f-zh-1", "zh-1", "NPS", score=3, ts_ms=week_ago)
    client.feedback("f-zh-2", "zh-1", "COMPLAINT", text="快递一周了还没到，太慢了", ts_ms=week_ago)
    client.feedback("f-en-1", "en-1", "NPS", score=3, ts_ms=week_ago)
    client.feedback(
        "f-en-2",
        "en-1",
        "COMPLAINT",
        text="My parcel still hasn't arrived after a week",
        ts_ms=week_ago,
    )
    return client


def test_health_and_reflection(client: VocClient) -> None:
    assert client.health() == "SERVING"
    assert client.health("voc.v1.Voc") == "SERVING"
    stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
    reply = next(
        stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    )
    names = {s.name for s in reply.list_services_response.service}
    assert {"voc.v1.Voc", "voc.v1.Admin", "grpc.health.v1.Health"} <= names


@pytest.mark.parametrize(
    ("cid", "locale", "label"), [("zh-1", "zh", "物流"), ("en-1", "en", "deliver")]
)
def test_detractor_card_in_both_languages(
    seeded: VocClient, cid: str, locale: str, label: str
) -> None:
    card = seeded.card(cid, locale=locale)
    assert card.known
    assert card.nps.category == voc_pb2.DETRACTOR and card.nps.score == 3
    assert [t.topic for t in card.topics] == ["logistics.delay"]
    assert card.topics[0].polarity == voc_pb2.COMPLAINT
    assert any("NPS 3" in a for a in card.alerts)
    assert any(card.topics[0].label in a for a in card.alerts)
    assert card.opening_line
    assert label in card.topics[0].label.lower() or label in card.opening_line.lower()
    assert card.priority == voc_pb2.RED if cid == "zh-1" else card.priority >= voc_pb2.ORANGE
    assert abs(card.server_time_us / 1000 - now_ms()) < 60_000


def test_unknown_customer_gets_unknown_card(client: VocClient) -> None:
    card = client.card("never-seen")
    assert not card.known and card.customer_id == "never-seen" and not card.alerts


def test_feedback_retry_is_duplicate_and_stores_nothing_twice(client: VocClient) -> None:
    before = client.stats().feedback
    first = client.feedback(
        "retry-1",
        "cust-r",
        "CSAT",
        score=2,
        agent_id="agent-r",
        text="等了很久，问题也没解决，很失望",
    )
    again = client.feedback(
        "retry-1",
        "cust-r",
        "CSAT",
        score=2,
        agent_id="agent-r",
        text="等了很久，问题也没解决，很失望",
    )
    assert not first.duplicate and again.duplicate
    assert client.stats().feedback == before + 1
    board = client.dashboard("agent-r")
    assert [(w.window, w.count) for w in board.csat] == [("24h", 1), ("7d", 1), ("30d", 1)]
    assert board.csat[0].average == 2.0
    assert len(board.comments) == 1 and board.comments[0].emotion.valence < 0
    code, details = code_of(
        lambda: client.feedback("retry-1", "cust-r", "CSAT", score=5, agent_id="agent-r")
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS and "feedback_id" in details


def test_dashboard_windows_and_comment_order(client: VocClient) -> None:
    now = now_ms()
    for i, (days, score, text) in enumerate(
        [(20, 5, "very professional agent"), (3, 4, ""), (0.1, 1, "rude and unhelpful")]
    ):
        client.feedback(
            f"dash-{i}",
            f"c-{i}",
            "CSAT",
            score=score,
            agent_id="agent-d",
            text=text,
            ts_ms=now - int(days * DAY_MS),
        )
    board = client.dashboard("agent-d")
    windows = {w.window: (w.count, round(w.average, 2)) for w in board.csat}
    assert windows == {"24h": (1, 1.0), "7d": (2, 2.5), "30d": (3, 3.33)}
    assert [c.text for c in board.comments] == ["rude and unhelpful", "very professional agent"]
    empty = client.dashboard("agent-nobody")
    assert all(w.count == 0 for w in empty.csat)


BAD_FEEDBACK = [
    (
        {"feedback_id": "", "customer_id": "c", "kind": voc_pb2.Feedback.NPS, "score": 5},
        "feedback_id",
    ),
    (
        {"feedback_id": "b1", "customer_id": "", "kind": voc_pb2.Feedback.NPS, "score": 5},
        "customer_id",
    ),
    ({"feedback_id": "b2", "customer_id": "c", "kind": 0, "score": 5}, "kind"),
    ({"feedback_id": "b3", "customer_id": "c", "kind": 77, "score": 5}, "kind"),
    ({"feedback_id": "b4", "customer_id": "c", "kind": voc_pb2.Feedback.NPS, "score": 11}, "score"),
    ({"feedback_id": "b5", "customer_id": "c", "kind": voc_pb2.Feedback.NPS, "score": -1}, "score"),
    (
        {
            "feedback_id": "b6",
            "customer_id": "c",
            "kind": voc_pb2.Feedback.CSAT,
            "score": 0,
            "agent_id": "a",
        },
        "score",
    ),
    (
        {"feedback_id": "b7", "customer_id": "c", "kind": voc_pb2.Feedback.CSAT, "score": 4},
        "agent_id",
    ),
    (
        {
            "feedback_id": "b8",
            "customer_id": "c",
            "kind": voc_pb2.Feedback.COMMENT,
            "text": "x" * 5000,
        },
        "text",
    ),
    (
        {"feedback_id": "b9", "customer_id": "c", "kind": voc_pb2.Feedback.COMPLAINT, "text": "  "},
        "text",
    ),
    ({"feedback_id": "b10", "customer_id": "c" * 200, "kind": voc_pb2.Feedback.NPS}, "customer_id"),
    (
        {"feedback_id": "b11", "customer_id": "c", "kind": voc_pb2.Feedback.NPS, "channel": 42},
        "channel",
    ),
    (
        {
            "feedback_id": "b12",
            "customer_id": "c",
            "kind": voc_pb2.Feedback.NPS,
            "ts_ms": now_ms() + 10 * DAY_MS,
        },
        "ts_ms",
    ),
    ({"feedback_id": "b13\x00", "customer_id": "c", "kind": voc_pb2.Feedback.NPS}, "feedback_id"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_FEEDBACK)
def test_bad_feedback_is_rejected_by_field_and_writes_nothing(
    client: VocClient, fields, field
) -> None:
    before = client.stats()
    code, details = code_of(
        lambda: client.voc.RecordFeedback(voc_pb2.Feedback(**fields), timeout=5)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith(field)
    after = client.stats()
    assert (after.feedback, after.customers, after.agents) == (
        before.feedback,
        before.customers,
        before.agents,
    )


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (voc_pb2.CardRequest(customer_id=""), "customer_id"),
        (voc_pb2.CardRequest(customer_id="   "), "customer_id"),
        (voc_pb2.CardRequest(customer_id="x" * 129), "customer_id"),
        (voc_pb2.CardRequest(customer_id="c", locale="fr"), "locale"),
        (voc_pb2.CardRequest(customer_id="c", interaction_id="i" * 500), "interaction_id"),
    ],
)
def test_bad_card_requests(client: VocClient, request_, field) -> None:
    code, details = code_of(lambda: client.voc.GetSummaryCard(request_, timeout=5))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(field)


def test_bad_dashboard_request(client: VocClient) -> None:
    code, details = code_of(lambda: client.dashboard(""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("agent_id")
    code, details = code_of(lambda: client.dashboard("a", comments_limit=1000))
    assert details.startswith("comments_limit")


def test_upsert_reports_rejects_and_keeps_history(seeded: VocClient) -> None:
    profiles = [
        admin_pb2.Profile(customer_id="zh-1", tier=voc_pb2.VIP, name="王芳"),
        admin_pb2.Profile(customer_id="", tier=voc_pb2.VIP),
        admin_pb2.Profile(customer_id="new-1", tier=0),
        admin_pb2.Profile(customer_id="new-2", tier=voc_pb2.STANDARD, locale="de"),
        admin_pb2.Profile(
            customer_id="new-3", tier=voc_pb2.STANDARD, attributes={"segment": "smb"}
        ),
    ]
    summary = seeded.upsert_profiles(profiles)
    assert (summary.upserted, summary.rejected) == (2, 3)
    assert [e.split(":")[0] for e in summary.errors] == ["#1", "#2", "#3"]
    assert "customer_id" in summary.errors[0] and "tier" in summary.errors[1]
    card = seeded.card("zh-1")
    assert card.tier == voc_pb2.VIP and card.nps.score == 3  # the CRM sync keeps VoC history
    assert seeded.card("new-3").known and not seeded.card("new-2").known


def test_oversized_message_is_refused(client: VocClient) -> None:
    big = voc_pb2.Feedback(
        feedback_id="big", customer_id="c", kind=voc_pb2.Feedback.COMMENT, text="x" * (2 << 20)
    )
    code, _ = code_of(lambda: client.voc.RecordFeedback(big, timeout=5))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_stats_and_reload(client: VocClient) -> None:
    stats = client.stats()
    assert stats.lexicon_version and stats.version and stats.map_size > 0
    reply = client.reload_lexicons()
    assert reply.version == stats.lexicon_version and reply.terms["topics"] > 1000
