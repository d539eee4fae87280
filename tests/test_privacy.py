"""Personal data in free text is masked before it is stored or logged: table-driven, zh and en."""

from __future__ import annotations

import logging
import time

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    # the gaps of issue 15: legacy 15-digit IDs, dots and underscores in phones, 6-10 cards,
    # IDs grouped 6-4-4-4, full-width and internationalised (IDN) e-mail
    ("老身份证110101900307123", "老身份证[id]"),
    ("身份证 110101 900307 123 已过期", "身份证 [id] 已过期"),
    ("手机137.1234.5678", "手机[phone]"),
    ("手机138_1234_5678谢谢", "手机[phone]谢谢"),
    ("卡号622202 1234567891被扣", "卡号[card]被扣"),
    ("身份证110101-1990-0307-123X", "身份证[id]"),
    ("身份证１１０１０１１９９００３０７１２３Ｘ", "身份证[id]"),
    ("手机１３８．１２３４．５６７８", "手机[phone]"),
    ("邮箱ｌｉ．ｌｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ谢谢", "邮箱[email]谢谢"),
    ("邮箱 li@例子.中国 谢谢", "邮箱 [email] 谢谢"),
    ("邮箱 zhang@例子.公司谢谢", "邮箱 [email]谢谢"),
    ("张三@例子.中国", "[email]"),
    ("mail jürgen@münchen.de now", "mail [email] now"),
    ("почта иван@пример.рф", "почта [email]"),
    ("li@example。com", "[email]"),
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
    "订单号20231001",
    "订单 2023061512 2023061513 都没到",  # two order numbers are not one card
    "日期 2024.03.15 13:45:10",
    "2024-03-15 2024-03-16 两天都没人接",
    "订单号 202310011234567",  # 15 digits without a birth date: not a legacy ID
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


# -- property tests over generated formats ---------------------------------------------------

BEFORE = st.sampled_from(["", " ", "我的", "请联系", "，", "call ", "：", "(", "号码"])
AFTER = st.sampled_from(["", " ", "，", "谢谢", " please", "。", "！", ")", "打不通"])
DIGIT = st.sampled_from("0123456789")


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(DIGIT, min_size=n, max_size=n)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def grouped(number: str, sizes: list[int], sep: str) -> str:
    """The number cut into groups of `sizes` (the last group takes any rest), joined by sep."""
    parts, at = [], 0
    for size in sizes[:-1]:
        if at + size < len(number):
            parts.append(number[at : at + size])
            at += size
    parts.append(number[at:])
    return sep.join(parts)


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    number = "1" + draw(st.sampled_from("3456789")) + draw(digits(9))
    sep = draw(st.sampled_from(["", " ", "-", ".", "_"]))
    text = grouped(number, [3, 4, 4], sep)
    text = draw(st.sampled_from(["", "+86 ", "+86-", "0086", "86 "])) + text
    return text, number


def birth_date(draw: st.DrawFn) -> str:
    year = draw(st.integers(1930, 2020))
    return f"{year:04d}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"


@st.composite
def resident_ids(draw: st.DrawFn) -> tuple[str, str]:
    region = str(draw(st.integers(110000, 829999)))
    if draw(st.booleans()):  # legacy 15 digits: YYMMDD, no check character
        number = region + birth_date(draw)[2:] + draw(digits(3))
        sizes = [6, 6, 3]
    else:
        number = region + birth_date(draw) + draw(digits(3)) + draw(st.sampled_from("0123456789Xx"))
        sizes = draw(st.sampled_from([[6, 8, 4], [6, 4, 4, 4]]))
    sep = draw(st.sampled_from(["", " ", "-"]))
    return grouped(number, sizes, sep), number


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    length = draw(st.integers(16, 19))
    number = draw(st.sampled_from("3456")) + draw(digits(length - 1))
    sep = draw(st.sampled_from(["", " ", "-"]))
    sizes = draw(st.sampled_from([[4] * 5, [6, 13], [6, 10, 3], [4, 6, 9]]))
    return grouped(number, sizes, sep), number


WORD = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=8)
IDN_LABEL = st.sampled_from(["例子", "münchen", "公司名", "пример", "bücher"])


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str]:
    local = draw(st.lists(WORD, min_size=1, max_size=3).map(lambda w: ".".join(w)))
    local += draw(st.sampled_from(["", "+vip", "_1", "-x"]))
    labels = draw(st.lists(st.one_of(WORD, IDN_LABEL), min_size=1, max_size=3))
    tld = draw(st.sampled_from(["com", "cn", "org", "中国", "公司", "рф", "de"]))
    address = local + "@" + ".".join([*labels, tld])
    return address, local


@st.composite
def personal_data(draw: st.DrawFn) -> tuple[str, str, str]:
    """(the text as typed, its raw identifying core, the expected mask)."""
    kind = draw(st.sampled_from(["[phone]", "[id]", "[card]", "[email]"]))
    strategy = {"[phone]": phones(), "[id]": resident_ids(), "[card]": cards(), "[email]": emails()}
    typed, core = draw(strategy[kind])
    if draw(st.booleans()):
        typed = full_width(typed)
    return typed, core, kind


@given(personal_data(), BEFORE, AFTER)
def test_generated_personal_data_is_masked(
    item: tuple[str, str, str], before: str, after: str
) -> None:
    typed, _, kind = item
    masked = mask_pii(before + typed + after)
    # an 18-digit card has the shape of a resident ID: either mask will do
    numbers = {"[id]", "[card]"}
    allowed = numbers if kind in numbers else {kind}
    assert any(masked == before + m + after for m in allowed), masked
    assert mask_pii(masked) == masked


ORDINARY = st.one_of(
    st.integers(0, 10**10 - 1).map(lambda n: f"订单号{n}"),  # 11 digits may be a phone
    st.integers(0, 10**9).map(lambda n: f"order #{n}"),
    st.tuples(st.integers(0, 99_999), st.integers(0, 99)).map(lambda a: f"¥{a[0]}.{a[1]:02d}"),
    st.integers(0, 9_999_999).map(lambda n: f"${n:,}.99"),
    st.integers(0, 99_999).map(lambda n: f"退款 {n} 元"),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%Y/%m/%d")),
    st.dates().map(lambda d: d.strftime("%Y.%m.%d")),
    st.dates().map(lambda d: f"{d.year}年{d.month}月{d.day}日"),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.times().map(lambda t: t.strftime("%H:%M:%S")),
    st.times().map(lambda t: t.strftime("%H:%M")),
)


@given(st.lists(st.tuples(ORDINARY, AFTER), min_size=1, max_size=4))
def test_generated_ordinary_numbers_are_kept(parts: list[tuple[str, str]]) -> None:
    text = " ".join(number + word for number, word in parts)
    assert mask_pii(text) == text


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


def test_long_snippet_is_masked_before_it_is_cut(server: Running, client: VocClient) -> None:
    """The snippet keeps 200 characters: a card number across that edge is masked whole."""
    card = "6222021234567890123"
    text = "快递太慢了" + "，" * 183 + card + "，联系我"  # the cut at 200 leaves 12 digits
    client.score("priv-i3", text, customer_id="priv-c4")
    client.end_interaction("priv-i3")
    profile = server.store.get("customers", b"priv-c4")
    snippets = [e.get("txt", "") for e in profile["events"] if e.get("k") == "interaction"]
    assert snippets
    assert not any(card[:8] in s for s in snippets), snippets
    assert all(len(s) <= 200 for s in snippets)


TAG = "支付失败 13812345678 li.lei@example.com"


def test_report_tag_is_masked_everywhere(
    server: Running, client: VocClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone or e-mail in a tag never reaches the trigger key, message, list, watch, store or log."""
    caplog.set_level(logging.DEBUG)
    since = int(time.time() * 1000) - 1000
    acks = [client.report(f"priv-t{i}", f"priv-ta{i}", TAG) for i in range(10)]
    fired = [a.trigger for a in acks if a.HasField("trigger")]
    assert len(fired) == 1
    raw = ("13812345678", "li.lei@example.com", "li.lei")
    listed = [t for t in client.list_triggers(since_ms=since) if t.key.startswith("支付失败")]
    watch = client.watch(since_ms=since, timeout=5)
    try:
        watched = next(t for t in watch if t.key.startswith("支付失败"))
    finally:
        watch.cancel()
    stored = [v for _, v in server.store.scan("triggers", limit=10_000) if "支付失败" in repr(v)]
    journal = [v for _, v in server.store.scan("reports", limit=10_000) if "priv-t" in repr(v)]
    assert listed and stored and journal
    assert fired[0].key == "支付失败 [phone] [email]"
    seen = [fired[0], *listed, watched]
    texts = [f"{t.key} {t.message}" for t in seen] + [repr(stored), repr(journal)]
    texts.append("\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records))
    leaked = [part for part in raw for text in texts if part in text]
    assert not leaked, leaked
