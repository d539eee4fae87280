"""The compiled utterance kernel against the pure-Python reference, and its input checks."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import utterance as ku
from server.lexicon import Lexicon, load_lexicon
from server.scoring import Analyzer, EmotionParams, Typing, Voice
from tests.naive_scoring import ReferenceAnalyzer

# Glue between terms: clause breaks, spaces, Latin letters next to English terms (word
# boundaries), emoji (astral characters, two code units), full-width and upper-case forms.
GLUE = [
    "",
    "",
    " ",
    "，",
    ",",
    "。",
    "！",
    "!!",
    "?",
    "…",
    "\n",
    "a",
    "X1",
    "😀",
    "👍🏻",
    "Ｆ",
    "ABC",
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    # the lexicon kernel alone: the learned model on top has its own reference
    # (tests/test_emotion_model.py)
    return dataclasses.replace(load_lexicon(), learned={})


@pytest.fixture(scope="module")
def pair(lexicon: Lexicon) -> tuple[Analyzer, ReferenceAnalyzer]:
    return Analyzer(lexicon), ReferenceAnalyzer(lexicon)


@pytest.fixture(scope="module")
def surfaces(lexicon: Lexicon) -> list[str]:
    """Every modifier and a seeded sample of the other terms, zh and en."""
    mods = sorted({e.term for e in lexicon.terms if e.kind == "modifier"})
    rest = sorted({e.term for e in lexicon.terms if e.kind != "modifier"})
    return mods + random.Random(3).sample(rest, 3000)


def _assert_same(kernel: Analyzer, reference: ReferenceAnalyzer, text: str, **kw) -> None:
    for with_matches in (True, False):
        got = kernel.analyze(text, with_matches=with_matches, **kw)
        want = reference.analyze(text, with_matches=with_matches, **kw)
        assert got == want, text


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_kernel_agrees_with_reference_on_lexicon_text(data, pair, surfaces) -> None:
    kernel, reference = pair
    pieces = data.draw(
        st.lists(st.one_of(st.sampled_from(surfaces), st.sampled_from(GLUE)), max_size=14)
    )
    typing = data.draw(
        st.none()
        | st.builds(Typing, st.integers(0, 400), st.integers(0, 60_000), st.integers(0, 50))
    )
    voice = data.draw(
        st.none()
        | st.builds(
            Voice,
            st.floats(0, 12, allow_nan=False),
            st.floats(-12, 12, allow_nan=False),
            st.floats(-20, 20, allow_nan=False),
        )
    )
    _assert_same(kernel, reference, "".join(pieces), typing=typing, voice=voice)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_kernel_agrees_with_reference_on_any_text(pair, text: str) -> None:
    _assert_same(*pair, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "你好",
        "我的快递一周了还没到",
        "你们到底怎么回事！！！再不解决我就投诉",
        "不是不满意，但是物流太慢了😡😡",
        "I'm NOT happy at all, but the agent was great!!!",
        "手机黑屏了，重启也没用" * 40,  # long text
        "我不满意快递太慢了😡" * 400,  # longer than the first scratch buffer: it grows
        "😀" * 10 + "不满意" + "😀",
    ],
)
def test_kernel_agrees_with_reference_on_examples(pair, text: str) -> None:
    _assert_same(*pair, text)


PARAM_TEXTS = (
    "我不是很满意，但是客服态度很好！！",
    "快递一周了还没到，太生气了",
    "not bad, but the delivery was terribly slow",
    "谢谢你们，非常满意",
    "有点担心会员费会不会自动扣",
    "退款到现在还没到账",
    "我并不生气，只是想快点解决",
    "客服不特别耐心",
    "真的很失望！！！",
    "太好了太好了！！！棒极了！！！",
    "这个很一般",
    "物流是不是丢件了？？？？？",
    "好吧有点慢！！！！！",
)


@pytest.fixture(scope="module")
def param_lexicon(lexicon: Lexicon) -> Lexicon:
    """The terms found in PARAM_TEXTS only: an analyzer per parameter stays cheap to build."""
    terms = tuple(e for e in lexicon.terms if any(e.term in t.casefold() for t in PARAM_TEXTS))
    return dataclasses.replace(lexicon, terms=terms)


@pytest.mark.parametrize("name", ku.PARAMS)
def test_every_kernel_param_is_wired(param_lexicon: Lexicon, name: str) -> None:
    """Each EmotionParams field the kernel reads moves both implementations the same way."""
    default = getattr(EmotionParams(), name)
    params = dataclasses.replace(EmotionParams(), **{name: default * 1.7 + 0.11})
    kernel = Analyzer(param_lexicon, params)
    reference = ReferenceAnalyzer(param_lexicon, params)
    for text in PARAM_TEXTS:
        _assert_same(kernel, reference, text)
    before = [Analyzer(param_lexicon).analyze(t) for t in PARAM_TEXTS]
    assert [kernel.analyze(t) for t in PARAM_TEXTS] != before, f"{name} changed nothing"


def _naive_fail(prefix: str, nodes: set[str]) -> str:
    for i in range(1, len(prefix)):
        if prefix[i:] in nodes:
            return prefix[i:]
    return ""


@settings(max_examples=150, deadline=None)
@given(keys=st.lists(st.text(alphabet="ab满意不\U0001f600", min_size=1, max_size=5), max_size=8))
def test_automaton_links_are_longest_proper_suffixes(keys: list[str]) -> None:
    keys = sorted({ku.code_units(k) for k in keys})
    automaton = ku.build_automaton(keys)
    prefixes = {k[:i] for k in keys for i in range(1, len(k) + 1)}
    assert len(automaton.nodes) == len(prefixes) + 1
    # Walk each prefix from the root by its edges and check its links.
    by_node = {0: ""}
    for prefix in sorted(prefixes, key=len):
        parent = next(n for n, p in by_node.items() if p == prefix[:-1])
        lo, hi = automaton.nodes[parent, ku.N_CHILD_LO], automaton.nodes[parent, ku.N_CHILD_HI]
        labels = automaton.edges[lo:hi, 0]
        assert list(labels) == sorted(labels)
        (at,) = np.flatnonzero(labels == ord(prefix[-1]))
        by_node[int(automaton.edges[lo + at, 1])] = prefix
    for node, prefix in by_node.items():
        if not prefix:
            continue
        fail = by_node[int(automaton.nodes[node, ku.N_FAIL])]
        assert fail == _naive_fail(prefix, prefixes)
        key = automaton.nodes[node, ku.N_KEY]
        assert (keys[key] == prefix) if key >= 0 else prefix not in keys
        link = int(automaton.nodes[node, ku.N_DICT])
        suffixes = [prefix[i:] for i in range(1, len(prefix)) if prefix[i:] in keys]
        assert (by_node[link] if link >= 0 else None) == (suffixes[0] if suffixes else None)
    for unit in {ord(p[0]) for p in prefixes}:
        assert by_node[int(automaton.root[unit])] == chr(unit)


def _tables(**override):
    tables = {
        "keys_units": ["ab"],
        "keys": np.array([[2, 2, 0, 0, 1]], dtype=np.int32),
        "items_i": np.array([[ku.EMOTION, 1, ku.SATIS, 0, ku.NEUTRAL, ku.NEUTRAL]], np.int32),
        "items_f": np.array([[1.0, 0.2]]),
        "params": np.zeros(len(ku.PARAMS)),
    }
    tables.update(override)
    return tables


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"keys": np.zeros((1, 4), np.int32)}, "keys must have shape"),
        ({"keys": np.array([[3, 2, 0, 0, 1]], np.int32)}, "K_UNITS"),
        ({"keys": np.array([[2, 3, 0, 0, 1]], np.int32)}, "K_CHARS"),
        ({"keys": np.array([[2, 2, 0, 0, 2]], np.int32)}, "item range"),
        ({"keys_units": [""], "keys": np.array([[0, 1, 0, 0, 1]], np.int32)}, "K_UNITS"),
        ({"items_f": np.array([[np.nan, 0.2]])}, "finite"),
        ({"items_i": np.array([[ku.MARK + 1, 1, 0, 0, 0, 0]], np.int32)}, "I_CODE"),
        ({"items_i": np.array([[ku.EMOTION, 1, 12, 0, 0, 0]], np.int32)}, "bucket"),
        ({"items_i": np.array([[ku.TOPIC, 1, 0, 0, 5, 0]], np.int32)}, "polarities"),
        ({"params": np.zeros(3)}, "PARAMS order"),
    ],
)
def test_kernel_tables_are_checked(override: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ku.UtteranceKernel(**_tables(**override))


def test_kernel_scores_its_tables() -> None:
    kernel = ku.UtteranceKernel(**_tables())
    units = np.frombuffer("xab ab".encode(ku.UTF16), np.uint16)
    scalars, ints, floats = kernel.score(units, 0.0, True)
    assert scalars[ku.R_KEPT] == 2 and scalars[ku.R_MATCHES] == 2 and len(floats) == 2
    assert ints[ku.M_START] == 1 and ints[ku.M_END] == 3
    assert scalars[ku.R_VALENCE] > 0 and scalars[ku.R_POLARITY] == 1


@pytest.mark.parametrize(
    "text", ["垃圾桶在哪里", "一般来说是三天", "麻烦您帮我查一下物流", "您重启一下试试"]
)
def test_shields_win_the_match_and_add_nothing(pair, text: str) -> None:
    """Neutral call-center phrases holding a sentiment word stay CALM (weight-0 shields)."""
    analysis = pair[0].analyze(text)
    assert analysis.emotion.label == "CALM" and analysis.polarity == 0
    assert any(m.kind == "emotion" and m.weight == 0 for m in analysis.matches)
