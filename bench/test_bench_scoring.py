"""Utterance analysis vs the libraries it replaces: flashtext, a `re` alternation, jieba, snownlp.

Two more rows show where the time goes: "pyahocorasick scan" is pyahocorasick's C scan alone
(every raw hit, no selection and no model: a floor for any engine built on it), and "vocscore
(Python loop)" is the previous engine, the same model in Python on top of that scan
(tests/naive_scoring.py), which the compiled kernel replaced.

Run: `python -m pytest bench/test_bench_scoring.py --benchmark-group-by=group` (one group per
corpus; each row scores the whole corpus once, so the per-utterance figure is mean / len(corpus)).
`test_report` prints per-100-character figures per corpus with the ratios to vocscore.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from server.lexicon import Lexicon, load_lexicon
from server.scoring import Analyzer

ZH = (
    "你好，我想查一下我的订单，快递一周了还没到，到底什么时候能送到？",
    "你们到底怎么回事！！！再不解决我就投诉到消费者协会",
    "质量不错但是物流太慢了，等了整整十天才收到",
    "客服态度很好，耐心帮我解决了退款的问题，谢谢你们",
    "手机用了三天就黑屏了，重启也没用，我要求换货",
    "我昨天付款的时候一直显示支付失败，钱扣了订单却没有生成",
    "东西收到了，包装有点破损，不过里面的商品没有问题",
    "我不是很满意这次的服务，等了四十分钟才有人接电话",
    "APP一直闪退，登录不上去，已经卸载重装好几次了",
    "退款申请提交一个星期了还没有到账，请尽快处理一下",
    "谢谢，问题已经解决了，非常感谢你的耐心",
    "这个价格比别家贵了不少，而且赠品也没有送",
    "快递员态度很差，直接把包裹扔在门口也不打电话",
    "我担心这个会员费下个月还会自动扣，能不能帮我取消",
    "衣服尺码偏小，颜色和图片也不一样，我想退货",
    "你们的售后太让人失望了，每次都说会回电话，结果从来没人打",
    "新买的耳机左边没有声音，是不是质量有问题啊",
    "发票一直没有开出来，公司报销要用，麻烦快一点",
    "这次体验非常好，下单第二天就到了，会推荐给朋友",
    "密码重置的短信一直收不到，换了手机号也不行",
    "说好的七天无理由退货，现在又说不符合条件，这不是欺骗消费者吗",
    "洗衣机安装师傅迟到了三个小时，电话也打不通，太生气了",
    "我就想问一下积分什么时候到账",
    "物流信息三天没更新了，是不是丢件了？",
    "产品很好用，就是说明书看不太懂",
)
EN = (
    "Hi, I ordered a laptop last week and it still hasn't arrived, can you check the status?",
    "This is the third time I'm calling about this!!! Fix it or I'm cancelling my account",
    "Great product but delivery was terrible, the box was crushed",
    "The agent was very helpful and patient, thank you so much",
    "My phone screen went black after the update and it won't turn back on",
    "I was charged twice for the same order and nobody answers my emails",
    "I'm not very happy with the service, I waited 40 minutes on hold",
    "The app keeps crashing whenever I try to log in, please help",
    "I requested a refund two weeks ago and I still haven't received it",
    "Thanks, that solved my problem, have a nice day",
    "Why is the price higher than on your website? That is misleading",
    "The courier left the package outside in the rain, everything is soaked",
    "I'm worried the subscription will renew automatically next month",
    "The shirt is too small and the color doesn't match the picture",
    "Your customer service is a joke, nobody ever calls back",
    "The left earbud has no sound, is it defective?",
    "I need the invoice for my company, please send it as soon as possible",
    "Amazing experience, it arrived the next day, I will recommend you",
    "I can't reset my password, the verification code never comes",
    "The technician was three hours late and didn't even apologize",
    "WHERE IS MY ORDER? I have been waiting for ages",
    "Not bad overall, but the battery drains quickly",
    "Can you tell me when my loyalty points will be credited?",
    "The tracking hasn't updated in three days, is my parcel lost?",
    "Works fine, although the manual is hard to understand",
)
CORPUS = ZH + EN


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.fixture(scope="module")
def analyzer(lexicon: Lexicon) -> Analyzer:
    return Analyzer(lexicon)


def _surfaces(lexicon: Lexicon) -> list[str]:
    return sorted({s for e in lexicon.terms for s in (e.term, *e.variants)})


def _flashtext(lexicon: Lexicon) -> Callable[[str], object]:
    from flashtext import KeywordProcessor

    processor = KeywordProcessor(case_sensitive=False)
    for surface in _surfaces(lexicon):
        processor.add_keyword(surface)
    return lambda text: processor.extract_keywords(text, span_info=True)


def _regex(lexicon: Lexicon) -> Callable[[str], object]:
    terms = sorted(_surfaces(lexicon), key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, terms)), re.IGNORECASE)
    return lambda text: [(m.start(), m.group()) for m in pattern.finditer(text)]


def _jieba(lexicon: Lexicon) -> Callable[[str], object]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    table: dict[str, list] = {}
    for entry in lexicon.terms:
        for surface in (entry.term, *entry.variants):
            table.setdefault(surface, []).append(entry)
    get = table.get
    return lambda text: [hit for w in jieba.lcut(text.lower()) if (hit := get(w)) is not None]


def _pyahocorasick(lexicon: Lexicon) -> Callable[[str], object]:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for surface in _surfaces(lexicon):
        automaton.add_word(surface, surface)
    automaton.make_automaton()
    scan = automaton.iter
    return lambda text: list(scan(text.lower()))


def _python_loop(lexicon: Lexicon) -> Callable[[str], object]:
    from tests.naive_scoring import ReferenceAnalyzer

    return ReferenceAnalyzer(lexicon).analyze


def _snownlp() -> Callable[[str], object]:
    from snownlp import SnowNLP

    return lambda text: SnowNLP(text).sentiments


def _run(score: Callable[[str], object], corpus: tuple[str, ...]) -> None:
    for text in corpus:
        score(text)


PEERS = (
    "vocscore",
    "vocscore (Python loop)",
    "pyahocorasick scan",
    "flashtext",
    "re",
    "jieba",
    "snownlp",
)


def _scorer(name: str, lexicon: Lexicon, analyzer: Analyzer) -> Callable[[str], object]:
    if name == "vocscore":
        return analyzer.analyze
    if name == "vocscore (Python loop)":
        return _python_loop(lexicon)
    if name == "pyahocorasick scan":
        return _pyahocorasick(lexicon)
    if name == "flashtext":
        return _flashtext(lexicon)
    if name == "re":
        return _regex(lexicon)
    if name == "jieba":
        return _jieba(lexicon)
    return _snownlp()


@pytest.mark.parametrize("corpus_name", ["zh", "en"])
@pytest.mark.parametrize("peer", PEERS)
def test_scoring(benchmark, lexicon: Lexicon, analyzer: Analyzer, peer: str, corpus_name: str):
    corpus = ZH if corpus_name == "zh" else EN
    score = _scorer(peer, lexicon, analyzer)
    _run(score, corpus)  # warm caches (jieba dictionary, snownlp model)
    benchmark.group = f"analyze {len(corpus)} {corpus_name} utterances"
    benchmark.extra_info["utterances"] = len(corpus)
    benchmark.extra_info["chars"] = sum(map(len, corpus))
    rounds = 3 if peer == "snownlp" else 30
    benchmark.pedantic(_run, args=(score, corpus), rounds=rounds, iterations=1, warmup_rounds=1)


def _best_us(score: Callable[[str], object], corpus: tuple[str, ...], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        _run(score, corpus)
        best = min(best, time.perf_counter() - t0)
    return best * 1e6


def _chunks(corpus: tuple[str, ...], joiner: str, size: int = 100) -> tuple[str, ...]:
    """The corpus cut into utterances of exactly `size` characters (the budget's unit)."""
    text = joiner.join(corpus)
    return tuple(text[i : i + size] for i in range(0, len(text) - size + 1, size))


CORPORA = {
    "zh": ZH,
    "en": EN,
    "zh 100-char": _chunks(ZH, ""),
    "en 100-char": _chunks(EN, " "),
}


def test_report(lexicon: Lexicon, analyzer: Analyzer, capsys: pytest.CaptureFixture) -> None:
    """One table: us per 100 characters per corpus, and each peer's ratio to vocscore.

    "vocscore -matches" is `analyze(text, with_matches=False)`, what feedback and report tags
    use; "zh/en 100-char" are the corpora cut into 100-character utterances (the budget: 20 us
    each), where the per-call cost counts once per 100 characters instead of four times.
    """
    scorers = {peer: _scorer(peer, lexicon, analyzer) for peer in PEERS}
    scorers["vocscore -matches"] = lambda text: analyzer.analyze(text, with_matches=False)
    names = list(scorers)
    names.insert(1, names.pop())
    table: dict[str, dict[str, float]] = {}
    for corpus_name, corpus in CORPORA.items():
        chars = sum(map(len, corpus))
        for name in names:
            score = scorers[name]
            _run(score, corpus)
            rounds = 2 if name == "snownlp" else 20
            table.setdefault(name, {})[corpus_name] = _best_us(score, corpus, rounds) / chars * 100
    ours = table["vocscore"]
    lines = [
        f"lexicon {lexicon.version} ({len(lexicon.terms)} terms); us per 100 characters "
        "(x vocscore), best of N runs",
        "| peer | " + " | ".join(CORPORA) + " |",
        "| --- |" + " ---: |" * len(CORPORA),
    ]
    for name in names:
        cells = [f"{table[name][c]:.1f} ({table[name][c] / ours[c]:.2f}x)" for c in CORPORA]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert all(v > 0 for row in table.values() for v in row.values())
