"""Derive lexicons/zh/vocab.tsv, the neutral words that keep modifiers and short terms in place.

Usage: python -m lexicons.tools.build_vocab [--dict FILE] [--out FILE] [--min-freq N]

The matcher reads raw text with no word segmentation, leftmost-longest, so a modifier or a
one-character sentiment term inside an ordinary word fires: the 更 of 更改 intensifies, the 好 of
说好的 praises. A vocabulary word is an automaton key with no meaning of its own (kind ``word``):
it wins the leftmost-longest match over the shorter keys inside it and adds nothing. Only the
words that hide such a key are kept, so the file stays small and the server never needs a
segmenter.

Source: the dictionary shipped inside the jieba package, ``jieba/dict.txt`` (jieba 0.42.1,
MIT, Copyright (c) 2013 Sun Junyi, https://github.com/fxsjy/jieba; license in
lexicons/LICENSE-jieba), read at build time only, plus the few hand-written words of
``SUPPLEMENT`` that it lacks (checked by hand, they pass rules 1-2 only). The filter, in order (the script prints what each rule drops):

1. a word: Han characters only, 2 to 5 characters, dictionary frequency >= ``--min-freq``;
2. new: not equal to any zh term of the lexicons (that row already says what the word means);
3. hides something: the leftmost-longest reading of the word by the lexicon's zh terms finds
   at least one term or modifier inside it;
4. never hides a topic, entity or symptom term (those name what the customer talks about);
5. never hides an emotion term of two or more characters (失望透顶, 满意度: the word is about
   the feeling; only one-character terms such as 好 or 差 are ambiguous enough to hide);
6. not a composition: the terms found do not tile the word (非常满意 is 非常 + 满意 and must
   keep being read as such);
7. no scope cut: the word neither starts with a negator (不用 in 不用担心 must still negate
   担心) nor ends with a modifier (its scope would reach the next word).

Re-run it whenever a zh lexicon file changes; ``tests/test_zh_examples.py`` checks that the
committed file is what this script writes.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "lexicons" / "zh" / "vocab.tsv"
MIN_FREQ = 20
MIN_LEN, MAX_LEN = 2, 5
HEADER = "term\tnotes"
_HAN = re.compile(r"[\u4e00-\u9fff]+")

#: Contact-center words jieba's dictionary lacks; each hides a modifier or a short term.
SUPPLEMENT = (
    "说好的",  # 说好的今天送达: a promise, not praise
    "说好了",
    "不是自己",  # 不是自己更改的: who did it, not a negated feeling
    "好几天",
    "好几个",
    "更改成",
    "变更为",
    "报警器",  # a smoke alarm is no threat to call the police (an escalation term)
    "烟雾报警",
)


def default_dict() -> Path:
    import jieba  # build time only: the server never imports jieba

    return Path(jieba.__file__).with_name("dict.txt")


def read_dictionary(path: Path) -> dict[str, int]:
    """word -> frequency of jieba's ``word freq tag`` lines."""
    words: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            words[parts[0]] = int(parts[1])
    return words


def zh_terms() -> dict[str, tuple[str, str]]:
    """term -> (kind, category) of every zh lexicon term other than vocabulary words.

    A surface with several kinds keeps the first of topic, entity, symptom, emotion, modifier
    (the rules below are strictest for the first ones).
    """
    from server.lexicon import load_lexicon

    rank = {"topic": 0, "entity": 1, "symptom": 2, "emotion": 3, "modifier": 4}
    terms: dict[str, tuple[str, str]] = {}
    for entry in load_lexicon().terms:
        if entry.lang != "zh" or entry.kind not in rank:
            continue
        have = terms.get(entry.term)
        if have is None or rank[entry.kind] < rank[have[0]]:
            terms[entry.term] = (entry.kind, entry.category)
    return terms


def reading(word: str, terms: Mapping[str, tuple[str, str]], longest: int) -> list[tuple[int, str]]:
    """(start, term) of the leftmost-longest terms inside ``word`` (the word itself excluded)."""
    found = []
    i = 0
    while i < len(word):
        for size in range(min(longest, len(word) - i), 0, -1):
            piece = word[i : i + size]
            if piece != word and piece in terms:
                found.append((i, piece))
                i += size
                break
        else:
            i += 1
    return found


def verdict(word: str, terms: Mapping[str, tuple[str, str]], longest: int) -> str:
    """ "keep", or the name of the rule that drops ``word``."""
    if word in terms:
        return "already a term"
    hits = reading(word, terms, longest)
    if not hits:
        return "hides nothing"
    kinds = [terms[t][0] for _, t in hits]
    if any(k in ("topic", "entity", "symptom") for k in kinds):
        return "hides a topic, entity or symptom"
    if any(k == "emotion" and len(t) > 1 for (_, t), k in zip(hits, kinds, strict=True)):
        return "hides a longer emotion term"
    if sum(len(t) for _, t in hits) == len(word):
        return "a composition of terms"
    start, first = hits[0]
    if start == 0 and terms[first] == ("modifier", "negator"):
        return "starts with a negator"
    end, last = hits[-1]
    if end + len(last) == len(word) and terms[last][0] == "modifier":
        return "ends with a modifier"
    return "keep"


def build(
    dictionary: Mapping[str, int], terms: Mapping[str, tuple[str, str]], min_freq: int
) -> tuple[list[str], Counter]:
    longest = max(map(len, terms))
    dropped: Counter = Counter()
    kept: list[str] = []
    candidates: Iterable[str] = sorted(
        {w for w, f in dictionary.items() if f >= min_freq} | set(SUPPLEMENT)
    )
    for word in candidates:
        if not (MIN_LEN <= len(word) <= MAX_LEN and _HAN.fullmatch(word)):
            dropped["not a 2-5 character Han word"] += 1
            continue
        why = verdict(word, terms, longest)
        if word in SUPPLEMENT and why != "already a term":
            why = "keep"  # hand-checked: rules 3-7 are for words nobody looked at
        if why == "keep":
            kept.append(word)
        else:
            dropped[why] += 1
    return kept, dropped


def render(words: list[str]) -> str:
    lines = [
        "# Neutral words: automaton keys with no meaning that stop the modifiers and short terms",
        "# inside them from firing. Generated by `python -m lexicons.tools.build_vocab` from",
        "# jieba's dictionary (MIT, Copyright (c) 2013 Sun Junyi; lexicons/LICENSE-jieba).",
        "# Do not edit by hand.",
        HEADER,
    ]
    lines += [f"{w}\t{'hand' if w in SUPPLEMENT else 'jieba'}" for w in words]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dict", type=Path, default=None, help="jieba dict.txt (default: the installed one)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--min-freq", type=int, default=MIN_FREQ)
    args = parser.parse_args(argv)
    dictionary = read_dictionary(args.dict or default_dict())
    words, dropped = build(dictionary, zh_terms(), args.min_freq)
    args.out.write_text(render(words), encoding="utf-8")
    for rule, count in dropped.most_common():
        print(f"dropped {count:7d}  {rule}", file=sys.stderr)
    print(f"wrote {len(words)} words to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
