"""Demo data for `make run`: a few thousand zh/en customers with NPS, CSAT, complaints and praise."""

from __future__ import annotations

import logging
import random

from server.config import Config
from server.engine import Engine
from server.feedback import FeedbackIn
from server.profiles import DAY_MS, ProfileIn
from server.service import VocService, wall_ms
from server.store import Store

log = logging.getLogger(__name__)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "晨",
    "欣怡",
    "子轩",
    "浩然",
    "梓涵",
    "雨桐",
    "宇航",
    "思远",
    "佳琪",
    "嘉怡",
    "俊杰",
    "晓燕",
    "建华",
    "志强",
    "海燕",
    "婷婷",
    "文博",
)
FIRST = (
    "Emily",
    "James",
    "Olivia",
    "Liam",
    "Sophia",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Grace",
    "Henry",
    "Chloe",
    "Jack",
    "Ella",
    "Daniel",
    "Amelia",
    "Ryan",
    "Zoe",
    "Oscar",
)
LAST = (
    "Clark",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Martin",
    "Lee",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
)
COMPLAINTS = {
    "zh": (
        "快递一周了还没到，物流信息一直不更新",
        "付款的时候一直转圈，付不了款",
        "扣了两次钱，赶紧给我退",
        "收到的包裹被压扁了，里面的东西也坏了",
        "客服态度太差了，说话很不耐烦",
        "排队等了半个小时都没人接",
        "退款申请了十天还没到账",
        "手机用了两天就黑屏了",
        "账号登不上去，验证码一直收不到",
        "这个月话费多扣了五十块",
        "衣服质量太差，洗一次就掉色",
        "买贵了，第二天就降价了",
    ),
    "en": (
        "My parcel still hasn't arrived after a week, tracking is not updating",
        "Payment failed three times, the page just keeps spinning",
        "I was charged twice for the same order",
        "The box arrived crushed and the item is broken",
        "The agent was rude and hung up on me",
        "I was on hold for forty minutes",
        "My refund still hasn't come through after ten days",
        "The phone has a black screen after two days",
        "I can't log in, the code never arrives",
        "My bill is wrong again this month",
        "Poor quality, the stitching came apart",
    ),
}
PRAISES = {
    "zh": (
        "发货很快，第二天就到了",
        "客服很耐心，问题解决了，谢谢",
        "质量很好，物超所值",
        "包装很仔细，一点没坏",
    ),
    "en": (
        "Fast delivery, arrived the next day",
        "The agent was really patient and helpful, thank you",
        "Great quality for the price",
        "Packaging was perfect, nothing damaged",
    ),
}
# Survey comments by score band: 1-2, 3, 4-5.
CSAT_COMMENTS = {
    "zh": (
        ("问题根本没解决，很失望", "等了四十分钟才接通，太慢了"),
        ("还行吧，等得有点久", "解决了，就是流程有点复杂"),
        ("处理得很及时，非常满意", "客服小姐姐很专业"),
    ),
    "en": (
        ("Didn't solve my problem at all, disappointed", "Forty minutes on hold, far too slow"),
        ("Okay, but the wait was long", "Solved, but the process is complicated"),
        ("Quick and friendly, very satisfied", "Very professional agent"),
    ),
}


def _name(rng: random.Random, locale: str) -> str:
    if locale == "zh":
        return rng.choice(SURNAMES) + rng.choice(GIVEN)
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def seed_demo(cfg: Config, customers: int = 3000, seed: int = 7) -> int:
    """Fills an empty store with demo customers; returns how many feedback events it wrote.

    C0001 (zh) and C0002 (en) are detractors (NPS 3) with a logistics complaint last week.
    """
    rng = random.Random(seed)
    store = Store(cfg.store.path, map_size_mb=cfg.store.map_size_mb, sync=False)
    try:
        if store.entries("customers"):
            return 0
        service = VocService(cfg, store, Engine(cfg))
        now = wall_ms()
        profiles = []
        for i in range(1, customers + 1):
            locale = "zh" if i % 3 else "en"
            tier = rng.choices(("STANDARD", "VIP", "VVIP"), (80, 15, 5))[0]
            profiles.append(
                ProfileIn(
                    f"C{i:04d}",
                    tier,
                    _name(rng, locale),
                    locale,
                    {"region": rng.choice(("north", "east", "south", "west"))},
                )
            )
        profiles[0] = ProfileIn("C0001", "VVIP", "王芳", "zh", {"region": "east"})
        profiles[1] = ProfileIn("C0002", "VIP", "Emily Clark", "en", {"region": "west"})
        service.upsert(profiles)
        events = 0

        def feedback(n: int, cid: str, kind: str, days_ago: float, **kw: object) -> None:
            nonlocal events
            ts = now - int(days_ago * DAY_MS)
            service.feedback(FeedbackIn(f"demo-{cid}-{n}", cid, kind, ts_ms=ts, **kw))
            events += 1

        feedback(1, "C0001", "NPS", 6, score=3, channel="SURVEY")
        feedback(
            2,
            "C0001",
            "COMPLAINT",
            6,
            text="快递一周了还没到，物流信息一直不更新，太慢了",
            channel="CHAT",
        )
        feedback(1, "C0002", "NPS", 6, score=3, channel="SURVEY")
        feedback(
            2,
            "C0002",
            "COMPLAINT",
            6,
            text="My parcel still hasn't arrived after a week, where is my parcel?",
            channel="EMAIL",
        )
        for p in profiles[2:]:
            cid, locale = p.customer_id, p.locale
            n = 0
            if rng.random() < 0.6:
                n += 1
                feedback(
                    n,
                    cid,
                    "NPS",
                    rng.uniform(0, 80),
                    score=rng.choices(range(11), (3, 2, 2, 3, 3, 4, 6, 12, 18, 22, 25))[0],
                    channel="SURVEY",
                )
            if rng.random() < 0.35:
                n += 1
                feedback(
                    n,
                    cid,
                    "COMPLAINT",
                    rng.uniform(0, 40),
                    text=rng.choice(COMPLAINTS[locale]),
                    channel=rng.choice(("VOICE", "CHAT", "EMAIL")),
                )
            if rng.random() < 0.2:
                n += 1
                feedback(
                    n,
                    cid,
                    "PRAISE",
                    rng.uniform(0, 40),
                    text=rng.choice(PRAISES[locale]),
                    channel="CHAT",
                )
            if rng.random() < 0.5:
                n += 1
                score = rng.choices((1, 2, 3, 4, 5), (5, 7, 15, 33, 40))[0]
                band = 0 if score <= 2 else 1 if score == 3 else 2
                text = rng.choice(CSAT_COMMENTS[locale][band]) if rng.random() < 0.5 else ""
                feedback(
                    n,
                    cid,
                    "CSAT",
                    rng.uniform(0, 25),
                    score=score,
                    text=text,
                    agent_id=f"A{rng.randint(1, 40):03d}",
                    channel="SURVEY",
                )
        store.sync()
        log.info("demo store seeded", extra={"customers": customers, "feedback": events})
        return events
    finally:
        store.close()
