"""Analyzer: matching, negation, modifiers, contrast, topics, emotion labels, cues, robustness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.lexicon import load_lexicon
from server.scoring import LABELS, Analyzer, EmotionParams, Typing, Voice

TAXONOMY = """topic\tparent\tlabel_zh\tlabel_en\tseverity\towner
logistics.delay\tlogistics\t物流延迟\tdelivery delay\t2\tlogistics-ops
logistics.speed\tlogistics\t物流速度\tdelivery speed\t1\tlogistics-ops
product.quality\tproduct\t产品质量\tproduct quality\t2\tproduct-qa
service.attitude\tservice\t服务态度\tservice attitude\t2\tcx-team
"""

ZH = {
    "topics.tsv": """term\ttopic\tweight\tpolarity\tnotes
还没到\tlogistics.delay\t0.9\tcomplaint\t
物流太慢\tlogistics.delay\t0.9\tcomplaint\t
慢\tlogistics.speed\t0.5\tcomplaint\t
快\tlogistics.speed\t0.5\tpraise\t
物流\tlogistics.speed\t0.3\tneutral\t
快递\tlogistics.speed\t0.3\tneutral\t
质量\tproduct.quality\t0.4\tneutral\t
质量不错\tproduct.quality\t0.8\tpraise\t
投诉\tservice.attitude\t0.5\tcomplaint\t
""",
    "emotions.tsv": """term\temotion\tweight\tnotes
满意\tsatisfaction\t0.6\t
不满意\tdisappointment\t0.8\t
不错\tsatisfaction\t0.5\t
到底怎么回事\tanger\t0.9\t
再不解决\tanger\t0.8\t
投诉\tanger\t0.7\t
生气\tanger\t0.8\t
担心\tanxiety\t0.6\t
谢谢\tgratitude\t0.6\t
开心\tjoy\t0.6\t
难过\tsadness\t0.6\t
太慢了\tnegative\t0.6\t
""",
    "modifiers.tsv": """term\tkind\tweight\tnotes
不\tnegator\t-1.0\t
没有\tnegator\t-1.0\t
很\tintensifier\t1.5\t
非常\tintensifier\t1.8\t
有点\tdiminisher\t0.5\t
但是\tcontrast\t1.5\t
""",
    "entities.tsv": """term\tentity\tweight\tnotes
x手机\tproduct.phone_x\t1.0\t
""",
    "symptoms.tsv": """term\tsymptom\tweight\tnotes
黑屏\tblack_screen\t1.0\t
""",
    "openings.tsv": """topic\tpolarity\ttext\tnotes
logistics.delay\tcomplaint\t看到您的订单{label}了，非常抱歉\t
""",
}

EN = {
    "topics.tsv": """term\ttopic\tweight\tpolarity\tnotes
delivery was terrible\tlogistics.delay\t0.9\tcomplaint\t
late\tlogistics.delay\t0.7\tcomplaint\t
great product\tproduct.quality\t0.8\tpraise\t
delivery\tlogistics.speed\t0.3\tneutral\t
""",
    "emotions.tsv": """term\temotion\tweight\tnotes
happy\tjoy\t0.6\t
unhappy\tdisappointment\t0.7\t
terrible\tnegative\t0.8\t
great\tpositive\t0.6\t
angry\tanger\t0.8\t
thank you\tgratitude\t0.7\t
bad\tnegative\t0.6\t
""",
    "modifiers.tsv": """term\tkind\tweight\tnotes
not\tnegator\t-1.0\t
don't\tnegator\t-1.0\t
very\tintensifier\t1.5\t
a bit\tdiminisher\t0.5\t
but\tcontrast\t1.5\t
""",
    "entities.tsv": """term\tentity\tweight\tnotes
phone x\tproduct.phone_x\t1.0\t
""",
    "symptoms.tsv": """term\tsymptom\tweight\tnotes
black screen\tblack_screen\t1.0\t
""",
    "openings.tsv": """topic\tpolarity\ttext\tnotes
logistics.delay\tcomplaint\tI can see your {label} — I'm sorry\t
""",
}


def write_lexicon(root: Path, zh: dict[str, str] = ZH, en: dict[str, str] = EN) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "taxonomy.tsv").write_text(TAXONOMY, encoding="utf-8")
    for lang, files in (("zh", zh), ("en", en)):
        (root / lang).mkdir(exist_ok=True)
        for name, text in files.items():
            (root / lang / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    root = write_lexicon(tmp_path_factory.mktemp("lex"))
    return Analyzer(load_lexicon([root], include_builtin=False))


def terms(analyzer: Analyzer, text: str) -> list[tuple[str, int, int]]:
    return [(m.term, m.start, m.end) for m in analyzer.analyze(text).matches]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我不满意", [("不满意", 1, 4)]),  # leftmost-longest beats 不 + 满意
        ("很满意", [("很", 0, 1), ("满意", 1, 3)]),
        ("物流太慢了", [("物流太慢", 0, 4)]),  # longest at the leftmost start
        ("", []),
        ("你好", []),
        ("I am happy", [("happy", 5, 10)]),
        ("I am unhappy", [("unhappy", 5, 12)]),  # not "happy" inside a word
        ("happyhappy", []),
        ("HAPPY!", [("happy", 0, 5)]),  # case-insensitive
        ("Ｉ ａｍ ＨＡＰＰＹ", [("happy", 5, 10)]),  # full-width folded by NFKC
        ("ｘ手机黑屏", [("x手机", 0, 3), ("黑屏", 3, 5)]),
        ("我很滿意", [("很", 1, 2), ("滿意", 2, 4)]),  # traditional input
        ("不滿意😡😡", [("不滿意", 0, 3)]),
        ("😀happy😀满意", [("happy", 1, 6), ("满意", 7, 9)]),  # astral chars keep char offsets
        ("phone x black screen", [("phone x", 0, 7), ("black screen", 8, 20)]),
        ("x手机 black screen了", [("x手机", 0, 3), ("black screen", 4, 16)]),
        ("happy2", []),  # digits are word characters
        ("(happy)", [("happy", 1, 6)]),
        ("don't be late", [("don't", 0, 5), ("late", 9, 13)]),
    ],
)
def test_matching(analyzer: Analyzer, text: str, expected: list) -> None:
    assert terms(analyzer, text) == expected


def test_offsets_index_the_normalised_text(analyzer: Analyzer) -> None:
    import unicodedata

    for text in ("Ｉ ａｍ ＨＡＰＰＹ", "😀happy😀满意", "我很滿意", "x手机 black screen了"):
        norm = unicodedata.normalize("NFKC", text).casefold()
        for m in analyzer.analyze(text).matches:
            assert norm[m.start : m.end] == m.term


def test_long_text(analyzer: Analyzer) -> None:
    text = ("物流太慢了，我很不满意。" + "the delivery was terrible " + "x" * 44) * 250
    assert len(text) > 20_000
    result = analyzer.analyze(text)
    assert len(result.matches) == 250 * 4
    assert result.emotion.valence < 0


@pytest.mark.parametrize(
    ("text", "sign", "negated"),
    [
        ("满意", 1, False),
        ("不满意", -1, False),  # a term of its own
        ("不是很满意", -1, True),
        ("我没有很满意", -1, True),
        ("不太满意", -1, True),
        ("我不生气", 1, True),  # denied anger: a weak positive
        ("不，满意", 1, False),  # clause break stops negation
        ("不是说这个东西我满意", 1, False),  # out of the window
        ("not happy", -1, True),
        ("not very happy", -1, True),
        ("not bad", 1, True),
        ("not. happy", 1, False),
        ("I don't think I am happy", -1, True),  # neg-raising, 12 chars: inside the window
        ("not sure about the box but happy", 1, False),  # contrast ends the negation
    ],
)
def test_negation(analyzer: Analyzer, text: str, sign: int, negated: bool) -> None:
    result = analyzer.analyze(text)
    sentiment = [m for m in result.matches if m.kind == "emotion"]
    assert sentiment and sentiment[-1].negated is negated
    assert result.polarity == sign


def test_negated_intensifier_is_milder_than_plain_negation(analyzer: Analyzer) -> None:
    plain = analyzer.analyze("不满意").emotion.valence
    weak = analyzer.analyze("不是很满意").emotion.valence
    assert plain < weak < 0


@pytest.mark.parametrize(
    ("strong", "plain", "weak"),
    [("很满意", "满意", "有点满意"), ("very happy", "happy", "a bit happy")],
)
def test_intensifier_and_diminisher(analyzer: Analyzer, strong: str, plain: str, weak: str) -> None:
    v = [analyzer.analyze(t).emotion.valence for t in (strong, plain, weak)]
    assert v[0] > v[1] > v[2] > 0


@pytest.mark.parametrize(
    ("text", "praised", "complained"),
    [
        ("质量不错但是物流太慢了", "product.quality", "logistics.delay"),
        ("great product but delivery was terrible", "product.quality", "logistics.delay"),
    ],
)
def test_contrast(analyzer: Analyzer, text: str, praised: str, complained: str) -> None:
    result = analyzer.analyze(text)
    polarity = {t.topic: t.polarity for t in result.topics}
    assert polarity[praised] == "praise"
    assert polarity[complained] == "complaint"
    assert result.polarity == -1  # the clause after "but" dominates
    reverse = analyzer.analyze(text.replace("但是", "。").replace(" but ", ". "))
    assert reverse.emotion.valence > result.emotion.valence


def test_topics_and_negated_topics(analyzer: Analyzer) -> None:
    result = analyzer.analyze("我的快递一周了还没到")
    assert [t.topic for t in result.topics] == ["logistics.delay", "logistics.speed"]
    assert result.topics[0].polarity == "complaint"
    assert result.emotion.valence < 0
    assert result.emotion.label in ("DISAPPOINTED", "ANXIOUS", "ANGRY")
    # Negated praise is a complaint; a denied complaint is neutral, not praise.
    assert analyzer.analyze("发货不快").topics[0].polarity == "complaint"
    assert analyzer.analyze("不，慢").topics[0].polarity == "complaint"  # clause break
    assert analyzer.analyze("不慢").topics[0].polarity == "neutral"
    # Max score per topic.
    both = analyzer.analyze("物流太慢，物流")
    assert [(t.topic, t.score) for t in both.topics] == [
        ("logistics.delay", 0.9),
        ("logistics.speed", 0.3),
    ]


def test_combos(analyzer: Analyzer) -> None:
    assert analyzer.analyze("我的x手机又黑屏了").combos == ("product.phone_x+black_screen",)
    assert analyzer.analyze("x手机没有黑屏").combos == ()
    assert analyzer.analyze("黑屏").combos == ()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("你好", "CALM"),
        ("hello there", "CALM"),
        ("你们到底怎么回事！！！再不解决我就投诉", "ANGRY"),
        ("我很担心", "ANXIOUS"),
        ("我很难过", "SAD"),
        ("不满意", "DISAPPOINTED"),
        ("满意", "SATISFIED"),
        ("很开心", "HAPPY"),
        ("谢谢", "GRATEFUL"),
        ("thank you", "GRATEFUL"),
        ("this is terrible!!!", "ANGRY"),  # generic negative + high arousal
        ("I am angry", "ANGRY"),
    ],
)
def test_labels(analyzer: Analyzer, text: str, label: str) -> None:
    emotion = analyzer.analyze(text).emotion
    assert emotion.label == label
    assert emotion.label in LABELS
    assert -1 <= emotion.valence <= 1 and 0 <= emotion.arousal <= 1 and 0 <= emotion.intensity <= 1


def test_angry_utterance_is_intense(analyzer: Analyzer) -> None:
    emotion = analyzer.analyze("你们到底怎么回事！！！再不解决我就投诉").emotion
    assert emotion.intensity >= 0.8
    assert emotion.arousal >= 0.9


def test_surface_cues_raise_arousal(analyzer: Analyzer) -> None:
    base = analyzer.analyze("this is terrible").emotion.arousal
    assert analyzer.analyze("this is terrible!").emotion.arousal > base
    assert analyzer.analyze("this is TERRIBLE").emotion.arousal > base
    assert analyzer.analyze("WHERE IS MY ORDER").emotion.arousal > analyzer.params.arousal_base
    assert analyzer.analyze("OK").emotion.arousal == analyzer.params.arousal_base
    fast = Typing(chars=40, elapsed_ms=2000)  # 20 chars/s
    slow = Typing(chars=40, elapsed_ms=20000)
    assert analyzer.analyze("this is terrible", typing=fast).emotion.arousal > base
    assert analyzer.analyze("this is terrible", typing=slow).emotion.arousal == base
    loud = Voice(speech_rate=7.0, pitch_delta=4.0, energy_db=6.0)
    quiet = Voice(speech_rate=3.0, pitch_delta=-2.0, energy_db=-3.0)
    assert analyzer.analyze("this is terrible", voice=loud).emotion.arousal > base + 0.3
    assert analyzer.analyze("this is terrible", voice=quiet).emotion.arousal < base
    assert analyzer.analyze("", voice=Voice()).emotion.label == "CALM"


def test_params_are_flat_and_used(tmp_path: Path) -> None:
    root = write_lexicon(tmp_path / "lex")
    lexicon = load_lexicon([root], include_builtin=False)
    table = {"contrast_before": 1.0, "dead_zone": 0.99, "negation_window": 0}
    params = EmotionParams(**table)
    analyzer = Analyzer(lexicon, params)
    assert analyzer.analyze("满意").polarity == 0  # everything is inside the dead zone
    assert analyzer.analyze("不是满意").matches[-1].negated is False
    for name, value in EmotionParams.__dataclass_fields__.items():
        assert value.type in ("int", "float"), name


def test_empty_lexicon(tmp_path: Path) -> None:
    root = tmp_path / "lex"
    root.mkdir()
    (root / "taxonomy.tsv").write_text(TAXONOMY, encoding="utf-8")
    analyzer = Analyzer(load_lexicon([root], include_builtin=False))
    assert analyzer.analyze("满意!").matches == ()


_TEXT = st.text(
    alphabet=st.sampled_from(
        list("不很满意没有到底物流太慢了但是，。！？!?.  abcnotvryhapy'tBUT😀😡\u3000ＡＢ滿")
    )
    | st.characters(),
    max_size=80,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_TEXT)
@example(text="投诉")  # found by hypothesis: one term, two kinds, one span
def test_analyze_never_raises(analyzer: Analyzer, text: str) -> None:
    import unicodedata

    result = analyzer.analyze(text)
    norm = unicodedata.normalize("NFKC", text).casefold()
    last = (0, 0)
    for m in result.matches:
        assert 0 <= m.start < m.end <= len(norm)
        # a term of several kinds (投诉: emotion and topic) gives one match per kind, same span
        assert m.start >= last[1] or (m.start, m.end) == last
        assert norm[m.start : m.end] == m.term
        last = (m.start, m.end)
    assert -1 <= result.emotion.valence <= 1
    assert 0 <= result.emotion.arousal <= 1
    assert result.polarity in (-1, 0, 1)


def _naive_leftmost_longest(terms: set[str], text: str) -> list[tuple[int, int]]:
    """Reference: at each position take the longest word-bounded term, then jump past it."""
    word = set("abcdefghijklmnopqrstuvwxyz0123456789")
    spans, i = [], 0
    while i < len(text):
        best = 0
        for term in terms:
            j = i + len(term)
            if len(term) > best and text.startswith(term, i):
                if term[0] in word and i and text[i - 1] in word:
                    continue
                if term[-1] in word and j < len(text) and text[j] in word:
                    continue
                best = len(term)
        if best:
            spans.append((i, i + best))
            i += best
        else:
            i += 1
    return spans


@settings(max_examples=300, deadline=None)
@given(
    terms=st.sets(st.text(alphabet="ab满意不😀", min_size=1, max_size=4), min_size=1, max_size=6),
    text=st.text(alphabet="ab满意不😀 ", max_size=30),
)
def test_selection_matches_naive_reference(terms: set[str], text: str) -> None:
    from types import MappingProxyType

    from server.lexicon import Lexicon, TermEntry

    entries = tuple(TermEntry(t, "entity", "x", 1.0, "", "zh", "t") for t in terms)
    lexicon = Lexicon(
        "v", entries, MappingProxyType({}), MappingProxyType({}), MappingProxyType({})
    )
    got = [(m.start, m.end) for m in Analyzer(lexicon).analyze(text).matches]
    assert got == _naive_leftmost_longest(terms, text)


def _entity_lexicon(terms: set[str]):
    from types import MappingProxyType

    from server.lexicon import Lexicon, TermEntry

    entries = tuple(TermEntry(t, "entity", "x", 1.0, "", "zh", "t") for t in terms)
    return Lexicon("v", entries, MappingProxyType({}), MappingProxyType({}), MappingProxyType({}))


@pytest.mark.parametrize(
    ("terms", "text"),
    [
        # U+6162 is the units 61 62: inside "\u3061\u6230" (30 61 | 62 30) it straddles two
        # characters and must not match; next to itself it must.
        ({"\u6162"}, "\u3061\u6230"),
        ({"\u6162"}, "\u3061\u6162\u6230"),
        ({"\u6162", "\u6230"}, "\u3061\u6230\u6162"),
        ({"ab", "b满", "满意不"}, "ab满意不"),  # a prefix kept, then covered from further left
        ({"a", "ab", "abc", "c"}, "abc abd ab c"),
        ({"意", "满意", "不满意", "不"}, "不满意不满意"),
        ({"happy", "😀happy"}, "😀happy😀 happy2 😀😀happy"),
    ],
)
def test_selection_edge_cases_match_naive_reference(terms: set[str], text: str) -> None:
    got = [(m.start, m.end) for m in Analyzer(_entity_lexicon(terms)).analyze(text).matches]
    assert got == _naive_leftmost_longest(terms, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("happy😀happy", [("happy", 0, 5), ("happy", 6, 11)]),  # an emoji is no word character
        ("😀happy2😀", []),
        ("😀😀unhappy😀", [("unhappy", 2, 9)]),
        ("满意😀不满意", [("满意", 0, 2), ("不满意", 3, 6)]),
    ],
)
def test_matching_around_astral_characters(analyzer: Analyzer, text: str, expected: list) -> None:
    assert terms(analyzer, text) == expected


def test_a_term_of_several_kinds_yields_a_match_per_kind(analyzer: Analyzer) -> None:
    # 投诉 is both an anger term and a complaint topic (in lexicon load order, emotions first);
    # a negation reaches every sense of the word (issue 10: "一点都不新鲜" is a quality complaint).
    result = analyzer.analyze("我要投诉")
    assert [(m.term, m.kind, m.start, m.end) for m in result.matches] == [
        ("投诉", "emotion", 2, 4),
        ("投诉", "topic", 2, 4),
    ]
    assert [t.topic for t in result.topics] == ["service.attitude"]
    negated = analyzer.analyze("不投诉")
    assert [(m.kind, m.negated) for m in negated.matches] == [
        ("modifier", False),
        ("emotion", True),
        ("topic", True),
    ]
    assert not any(t.polarity == "complaint" for t in negated.topics)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "你好",
        "我很不满意，物流太慢了！！",
        "质量不错但是物流太慢了",
        "I am not very happy, BUT the delivery was terrible?",
        "我的x手机又黑屏了",
        "😀happy😀满意",
    ],
)
def test_without_matches_only_matches_differ(analyzer: Analyzer, text: str) -> None:
    full = analyzer.analyze(text)
    lean = analyzer.analyze(text, with_matches=False)
    assert lean.matches == ()
    assert lean == full._replace(matches=())
    voice = Voice(speech_rate=6.0)
    assert analyzer.analyze(text, voice=voice, with_matches=False) == analyzer.analyze(
        text, voice=voice
    )._replace(matches=())


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_TEXT)
def test_without_matches_agrees_on_any_text(analyzer: Analyzer, text: str) -> None:
    full = analyzer.analyze(text)
    assert analyzer.analyze(text, with_matches=False) == full._replace(matches=())


@pytest.mark.parametrize(
    ("shouted", "calm"),
    [
        ("this is TERRIBLE", "this is terrible"),
        ("我的APP一直闪退", "我的app一直闪退"),  # mixed text: the check reads UTF-8 bytes
        ("Ｉ ａｍ ＨＡＰＰＹ", "i am happy"),  # full-width capitals are ASCII after NFKC
        ("happy 😀NO WAY😀", "happy 😀no way😀"),
    ],
)
def test_shouted_words_are_found_in_any_script(analyzer: Analyzer, shouted: str, calm: str) -> None:
    assert analyzer.analyze(shouted).emotion.arousal > analyzer.analyze(calm).emotion.arousal


def test_single_capitals_are_not_shouting(analyzer: Analyzer) -> None:
    calm = analyzer.analyze("i think i am happy").emotion.arousal
    assert analyzer.analyze("I think I am Happy").emotion.arousal == calm
    assert analyzer.analyze("I think I am HAppy").emotion.arousal == calm  # "HAppy" is a word
