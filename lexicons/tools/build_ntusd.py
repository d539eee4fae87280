"""Derive lexicons/zh/emotions_ntusd.tsv from NTUSD (MIT, see lexicons/LICENSE-NTUSD).

Usage: python -m lexicons.tools.build_ntusd [NTUSD_DIR] [--out FILE]
NTUSD_DIR defaults to ../shared/data/ntusd relative to the repository root and must hold
positive.zh-Hant.txt and negative.zh-Hant.txt (one traditional-Chinese word a line).

Every NTUSD word becomes one row ``term<TAB>negative|positive<TAB>0.5<TAB>ntusd`` after this
filter, applied in order (the script prints how many words each rule drops):

1. normalise: NFKC, strip, OpenCC ``t2s`` (traditional -> simplified); duplicates collapse;
2. not a word: drop entries with anything but Han characters, or longer than 8 characters;
3. single character: drop entries of length 1 (they match inside almost any sentence);
4. ambiguous: drop words listed in both the positive and the negative file;
5. hand-written wins: drop words that equal, or contain as a substring, any term of the
   hand-written lexicons/zh/emotions.tsv (that file already scores them, with a real intensity;
   a longer NTUSD word would otherwise win the leftmost-longest match and flatten it to 0.5);
6. too broad as a substring (the matcher runs over raw text with no word segmentation):
   a. two-character words that contain a function character (FUNCTION_CHARS: particles,
      pronouns, copulas, negators, numerals, measure words, common prepositions) -- such pairs
      occur across word boundaries ("对不" in "对不起", "的好" in "做的好看");
   b. words that start with an adverb/conjunction prefix that carries no sentiment by itself
      (NEUTRAL_PREFIXES: "一定", "一向", "一般", ...);
   c. STOPLIST: words checked against real customer and review text that mostly occur as
      neutral vocabulary or inside unrelated words ("发展", "需要", "问题", "建议", "设置", ...),
      or whose NTUSD label is wrong for shopping text ("廉价" is listed positive);
   d. modifiers: words that are a hand-written lexicons/zh/modifiers.tsv term ("好像", "似乎",
      "确实", "超级", "略显"): they scale or negate the next word and carry no sentiment of
      their own (as an emotion term too they would score every sentence they modify).

Weights are 0.5 for all rows (NTUSD has no intensities); the loader treats ``negative`` and
``positive`` as sentiment with no specific emotion.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SRC = REPO / ".." / "shared" / "data" / "ntusd"
DEFAULT_OUT = REPO / "lexicons" / "zh" / "emotions_ntusd.tsv"
HAND = REPO / "lexicons" / "zh" / "emotions.tsv"
MODIFIERS = REPO / "lexicons" / "zh" / "modifiers.tsv"
WEIGHT = 0.5
MAX_LEN = 8

FUNCTION_CHARS = set(
    "的了是在有和就都而及与着或一二三两几不没无未非别也很这那个些人我你他她它们么之其"
    "为以于上下中来去到说要会能可得地把被让给对从向将所且又还再才只已吗吧呢啊呀哦嘛"
)
NEUTRAL_PREFIXES = (
    "一定",
    "一向",
    "一般",
    "一直",
    "一如",
    "一再",
    "一同",
    "一并",
    "一起",
    "一样",
    "一切",
    "一些",
    "一点",
    "一下",
    "一个",
    "一次",
    "一种",
    "一时",
    "一旦",
    "非常",
    "十分",
    "相当",
    "比较",
    "特别",
    "已经",
    "正在",
    "可以",
    "应该",
    "需要",
    "必须",
    "如果",
    "虽然",
    "但是",
    "因为",
    "所以",
    "而且",
    "并且",
    "或者",
    "自己",
    "我们",
    "你们",
    "他们",
    "大家",
)
STOPLIST = set(
    """
    发展 需要 问题 机会 希望 支持 关心 关注 保证 标准 重要 主要 一般 正常 简单 特殊 普通
    实际 实在 事实 真正 真实 明白 清楚 了解 知道 认为 觉得 相信 以为 表示 表现 进行 经过
    开始 结束 完成 成为 成功 建设 改革 开放 领导 政府 国家 社会 经济 政治 历史 文化 人民
    市场 公司 企业 产品 服务 价格 质量 商品 东西 时间 地方 方面 方法 办法 情况 条件 环境
    安排 处理 解决 决定 要求 注意 考虑 准备 计划 工作 生活 学习 研究 发现 出现 发生 变化
    增加 减少 提高 降低 加强 改善 改进 保护 管理 控制 影响 作用 效果 结果 原因 目的 意义
    自然 自由 平等 和平 安全 健康 科学 技术 教育 医疗 法律 规定 制度 政策 措施 行动 活动
    大方 小心 老实 高级 低调 深刻 轻松 紧张 激烈 强烈 热烈 充分 充满 丰富 全面 完全 完整
    积极 主动 努力 认真 仔细 耐心 细心 用心 专心 专业 职业 客观 主观 理性 感性 公开 公平
    公正 合法 合理 合适 适合 适当 适应 符合 相同 不同 同样 一致 统一 特色 特点 优点 缺点
    好处 坏处 利益 损失 代价 成本 费用 收入 支出 投资 消费 购买 销售 交易 合作 竞争 对手
    建议 根本 设计 直接 打开 明显 如此 甚至 招待 不一样 预订 怎样 意识 较小 设置 休息 启动
    这么多 反映 通知 实话 并不是 换成 培训 号称 造成 而不是 回复 反复 最多 确实有 恭维 答复
    清洁 尊敬 忘记 自动 收集 想看 赶紧 不可能 同意 不需要 保安 证明 期望 畅销 有办法 信任
    发觉 欲望 没有发现 多元 较少 承诺 强烈建议 平凡 尽快 不一定 家伙 太快 感慨 答应 彻底
    冲动 不熟悉 不仅仅是 难怪 调查 大一点 好一点 动手 出乎 计较 有吸引力 找出 节省 想不到
    强烈要求 供应 不超过 生态 天后 坚决 知名 扩展 感觉不到 不在乎 过高 没有必要 感叹 小家伙
    丝毫 都不是 诚挚 考察 小事 太强 通用 事实上 震动 诠释 标榜 旺季 搜索 幻想 停留 不记得
    不了解 隐藏 陌生 采取 过早 贵重 签约 第一时间 拉开 务必 到处都是 打扰 占用 严肃 开启
    好意 折扣 廉价
    接收 送达 预计 抬头
    感觉 最后 使用 第一次 告诉 提供 首先 大概 重新 全部 按照 果然 靠近 等待 相关 一开始
    类似 实际上 前住 是为了 大部分 大多数 建筑 大门 调整 开发 尽量 要注意 长期 亲自 共同
    看出 做出 拿出 音乐 在一起 参考 同时 当然 就可以 也可以 都可以 经常 常常 根据 具体
    产生 连续 介绍 升级 理解 改变 水平 水准 离开 肯定 确实是 的确是 基本 主要是 最主要
    最重要 收藏 订购 携带 娱乐 接触 观察 综合 进一步 流行 继续 依然 仍然 独立 保持 体现
    需求 观念 应用 运用 如同 仿佛 看似 都会有 有机会 希望能 意愿 光亮 加装 较长 有需要
    较强 较大 较高 太高 最高 超过 更多 更好 真的是 自助 赠送 促销 效率 开通 允许 声明 确定
    想问 预留 召开 加工 优先 越大 有必要 情愿 事实证明 不存在 少数 道理 想过 没什么
    黑色 联想 卓越 战争 危机 死亡 黑暗 遗忘 牺牲 坎坷 疾病 临死 怪物 默默 悄悄 偷偷
    沉默 眼泪 艰辛 艰难 曲折 短暂 震撼 爱情 主角 回忆 梦想 勇气 年轻 解读 阐述 逻辑
    技巧 掌握 做好 提升 进步 交流 关闭 大雨 压力 少年 故事 老板 民族 宗教 神秘 真相
    容易 孤独 寂寞 孤单 哭泣 叹息 哀伤 感伤 惋惜 嫉妒 毁灭 自私 脆弱 灾难 忽略 伤害 负面
    """.split()
)


def load(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def hand_terms(path: Path) -> set[str]:
    out = set()
    if not path.exists():
        return out
    for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if i == 0 or not ln.strip() or ln.startswith("#"):
            continue
        out.add(ln.split("\t", 1)[0])
    return out


def modifier_terms(path: Path) -> set[str]:
    return hand_terms(path)


def contains_any(word: str, terms: set[str], max_len: int) -> bool:
    n = len(word)
    for i in range(n):
        for j in range(i + 2, min(n, i + max_len) + 1):
            if word[i:j] in terms:
                return True
    return False


def build(src: Path, hand_path: Path = HAND) -> tuple[list[tuple[str, str]], dict[str, int]]:
    from opencc import OpenCC

    cc = OpenCC("t2s")
    han = re.compile(r"^[\u4e00-\u9fff]+$")
    stats: dict[str, int] = {}

    def drop(rule: str) -> None:
        stats[rule] = stats.get(rule, 0) + 1

    lists: dict[str, set[str]] = {}
    for label, fname in (
        ("positive", "positive.zh-Hant.txt"),
        ("negative", "negative.zh-Hant.txt"),
    ):
        words = set()
        for raw in load(src / fname):
            w = cc.convert(unicodedata.normalize("NFKC", raw).strip())
            if not han.match(w) or len(w) > MAX_LEN:
                drop("2 not a word")
                continue
            if len(w) < 2:
                drop("3 single character")
                continue
            words.add(w)
        lists[label] = words
    both = lists["positive"] & lists["negative"]
    hand = hand_terms(hand_path)
    modifiers = modifier_terms(hand_path.with_name(MODIFIERS.name))
    hand_max = max((len(t) for t in hand), default=2)
    rows = []
    for label in ("negative", "positive"):
        for w in sorted(lists[label]):
            if w in both:
                drop("4 in both lists")
            elif w in hand or contains_any(w, hand, hand_max):
                drop("5 hand-written term")
            elif len(w) == 2 and (w[0] in FUNCTION_CHARS or w[1] in FUNCTION_CHARS):
                drop("6a two chars with a function character")
            elif w.startswith(NEUTRAL_PREFIXES):
                drop("6b neutral prefix")
            elif w in STOPLIST:
                drop("6c stoplist")
            elif w in modifiers:
                drop("6d modifier")
            else:
                rows.append((w, label))
    return rows, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("src", nargs="?", default=str(DEFAULT_SRC), help="NTUSD directory")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--hand", default=str(HAND), help="hand-written zh emotions.tsv")
    args = ap.parse_args(argv)
    src = Path(args.src)
    if not (src / "positive.zh-Hant.txt").exists():
        print(f"{src}: positive.zh-Hant.txt not found", file=sys.stderr)
        return 2
    rows, stats = build(src, Path(args.hand))
    out = Path(args.out)
    with out.open("w", encoding="utf-8", newline="") as f:
        f.write("term\temotion\tweight\tnotes\n")
        f.write("# Derived from NTUSD (MIT, (c) 2022 NTU NLPLab; see lexicons/LICENSE-NTUSD)\n")
        f.write("# by lexicons/tools/build_ntusd.py -- do not edit by hand, re-run the script.\n")
        for w, label in rows:
            f.write(f"{w}\t{label}\t{WEIGHT}\tntusd\n")
    for rule in sorted(stats):
        print(f"dropped by rule {rule}: {stats[rule]}")
    print(
        f"{out}: {len(rows)} rows "
        f"({sum(1 for _, lab in rows if lab == 'negative')} negative, "
        f"{sum(1 for _, lab in rows if lab == 'positive')} positive)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
