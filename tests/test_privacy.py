"""Personal data in free text is masked before it is stored or logged: table-driven, zh and en."""

from __future__ import annotations

import logging

import grpc
import pytest

from clients.client import VocClient
from clients.pb import voc_pb2
from server.app import Running
from server.privacy import mask_pii

MASKED = [
    # mainland mobiles: bare, +86 / 0086 / 86, grouped by spaces or dashes, full-width digits
    ("我的手机13812345678，请回电", "我的手机[phone]，请回电"),
    ("电话 138 1234 5678", "电话 [phone]"),
    ("+86 138 1234 5678", "[phone]"),
    ("+8613812345678", "[phone]"),
    ("008613812345678 打不通", "[phone] 打不通"),
    ("手机号：+86-138-1234-5678。", "手机号：[phone]。"),
    ("call me at 139-1234-5678 please", "call me at [phone] please"),
    ("phone:15912345678.", "phone:[phone]."),
    ("13812345678和19912345678都是我的", "[phone]和[phone]都是我的"),
    ("手机１３８１２３４５６７８谢谢", "手机[phone]谢谢"),
    ("＋８６ １３８ １２３４ ５６７８", "[phone]"),
    # landlines and foreign numbers
    ("固话 010-12345678", "固话 [phone]"),
    ("座机(0755)88888888", "座机[phone]"),
    ("0571 8765 4321 转 8", "[phone] 转 8"),
    ("+44 20 7946 0958", "[phone]"),
    ("Call (415) 555-2671 after 5pm", "Call [phone] after 5pm"),
    ("my number is 415-555-2671", "my number is [phone]"),
    # resident ID: 18 digits with a final digit or X, grouped or not
    ("身份证110101199003071234", "身份证[id]"),
    ("身份证号 11010119900307123X", "身份证号 [id]"),
    ("ID 11010119900307123x ok", "ID [id] ok"),
    ("身份证 110101 19900307 1234", "身份证 [id]"),
    # bank cards: 16-19 digits, with spaces or dashes
    ("卡号6222021234567890123", "卡号[card]"),
    ("卡号 6228 4800 1234 5678 被扣款两次", "卡号 [card] 被扣款两次"),
    ("card 6222 0212 3456 7890 123", "card [card]"),
    ("visa 4111-1111-1111-1111 charged twice", "visa [card] charged twice"),
    ("4111111111111111", "[card]"),
    # e-mail
    ("email a.b+c@example.com.cn", "email [email]"),
    ("邮箱zhang_san@qq.com谢谢", "邮箱[email]谢谢"),
    ("Write to EMILY.CLARK@EXAMPLE.ORG now", "Write to [email] now"),
    ("邮箱 wang＠163.com", "邮箱 [email]"),
]

KEPT = [
    "订单号 2023061512 还没发货",  # order numbers shorter than 11 digits
    "订单123456789",
    "order #98765 is late",
    "订单号 123456789012",  # 12 digits: not a card, not a phone
    "tracking SF1234567890123",
    "价格 ¥1299.00，贵了",
    "price $1,299.99 was too high",
    "退款 12800 元",
    "日期 2024-03-15",
    "2024/03/15 10:30 下的单",
    "2024年3月15日到货",
    "delivered on 15/03/2024 at 13:45:10",
    "用了3年，型号X200",
    "iPhone 15 Pro 256GB",
    "IP 192.168.1.1 version 1.2.3.4",
    "打了5次电话，等了40分钟",
    "rated 4.5/5",
    "",
    "没有数字的投诉",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert mask_pii(text) == text


def test_masking_is_idempotent() -> None:
    for text, expected in MASKED:
        assert mask_pii(expected) == expected, text


PHONE = "13812345678"
SECRET = "我的卡号6222021234567890123，手机13812345678，邮箱li.lei@example.com"
RAW_PARTS = ("6222021234567890123", PHONE, "li.lei@example.com")


def test_feedback_comment_is_stored_masked(client: VocClient) -> None:
    ack = client.feedback(
        "priv-f1", "priv-c1", "CSAT", score=2, agent_id="priv-a1", text=f"客服让我打{PHONE}没人接"
    )
    assert not ack.duplicate
    comments = client.dashboard("priv-a1").comments
    assert [c.text for c in comments] == ["客服让我打[phone]没人接"]


def test_interaction_snippet_is_stored_masked(server: Running, client: VocClient) -> None:
    client.score("priv-i1", f"快递太慢了，联系我{PHONE}", customer_id="priv-c2")
    client.end_interaction("priv-i1")
    profile = server.store.get("customers", b"priv-c2")
    snippets = [e.get("txt", "") for e in profile["events"] if e.get("k") == "interaction"]
    assert snippets and all(PHONE not in s for s in snippets)
    assert any("[phone]" in s for s in snippets)


def test_report_note_is_stored_masked(server: Running, client: VocClient) -> None:
    report = voc_pb2.IssueReport(report_id="priv-r1", agent_id="priv-a1", tag="payment failed",
                                 customer_id="priv-c1", note=SECRET)  # fmt: skip
    try:
        client.voc.ReportIssue(report, timeout=10)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
            pytest.skip("ReportIssue is not implemented yet")
        raise
    journal = server.store.scan("reports", limit=10_000)
    mine = [v for _, v in journal if "priv-r1" in repr(v)]
    assert mine
    assert not any(part in repr(mine) for part in RAW_PARTS)


def test_logs_never_carry_customer_text(
    server: Running, client: VocClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Valid, invalid and failing calls alike: nothing of the customer's text reaches a log."""
    caplog.set_level(logging.DEBUG)
    calls = [
        lambda: client.feedback("priv-f2", "priv-c3", "COMPLAINT", text=SECRET),
        lambda: client.feedback("priv-f2", "priv-c3", "COMPLAINT", text=SECRET + "!"),  # reused id
        lambda: client.feedback("priv-f3", "priv-c3", "COMPLAINT", text=SECRET * 200),  # too long
        lambda: client.feedback("priv-f4", "priv-c3", "NPS", score=11, text=SECRET),
        lambda: client.score("priv-i2", SECRET, customer_id="priv-c3"),
        lambda: client.score("priv-i2", SECRET, customer_id="priv-other"),  # wrong customer
        lambda: client.end_interaction("priv-i2"),
        lambda: client.voc.ReportIssue(
            voc_pb2.IssueReport(report_id="priv-r2", agent_id="priv-a2", tag="x", note=SECRET),
            timeout=10,
        ),
    ]
    for one in calls:
        try:
            one()
        except grpc.RpcError:
            pass
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {vars(r)}" for r in caplog.records)
    leaked = [part for part in RAW_PARTS if part in logged]
    assert not leaked, f"customer text in the logs: {leaked}"
