"""Derive lexicons/en/emotions_vader.tsv from VADER's lexicon (MIT, see lexicons/LICENSE-VADER).

Usage: python -m lexicons.tools.build_vader [--lexicon FILE] [--out FILE]

Reads ``vader_lexicon.txt`` from the installed ``vaderSentiment`` package (a dev dependency;
the server never imports it) or from ``--lexicon``. Each line of that file is
``token<TAB>mean valence<TAB>sd<TAB>ten ratings``, the mean of ten human ratings on -4..+4
(Hutto and Gilbert 2014). Every kept token becomes one row ``term<TAB>emotion<TAB>weight<TAB>vader
<mean>``, after this filter, applied in order (the script prints how many tokens each rule drops):

1. form: words (``a-z``, inner ``'`` and ``-``), VADER's few multi-word phrases, and the
   emoticons in EMOTICONS (the others are rare, or occur in ordinary text: ``):`` closes a
   parenthesis before a colon, ``8)`` ends a numbered list; ``:/`` is kept, and the shield
   ``://`` of ``en/emotions.tsv`` keeps it out of URLs); a word with an apostrophe also comes
   with a curly apostrophe (``can’t stand``), as phones type it; slang
   abbreviations with digits (``gr8``, ``143``) and words of one or two letters (``gt``,
   ``po``, ``tx``; ``l`` would match inside "L码") are dropped;
2. weak: drop tokens with ``|mean| < MIN_VALENCE`` (0.3; 0.8 and 0.5 were tried and cover less
   of the GoEmotions TRAIN comments for no fewer wrong signs);
3. hand-written wins: drop tokens that are a term of the hand-written ``en/emotions.tsv``
   (which already scores them, with an emotion class) or of ``en/modifiers.tsv`` (``no``,
   ``pretty``, ``super``, ``please``... scale or negate the next word; as emotion terms too
   they would score every sentence they modify);
4. STOPLIST: tokens that, in contact-center speech or in the GoEmotions TRAIN comments this was
   checked on, are mostly neutral vocabulary (``help``, ``ok``, ``yes``, ``care``, ``credit``,
   ``free``, ``save``, ``share``, ``ill`` as in "Ill call back"), contact-center words that
   VADER reads as slang (``vip``, ``nfc``, ``aml``, ``pls``), or whose VADER sense is not the
   one customers mean (``charged``, ``pay``, ``block``, ``hold``, ``fine``).

``like`` is kept (as ``positive``): the shields of ``en/emotions.tsv`` (``would like``, ``like
to``, ``looks like``, ``like a``...) take the preposition and the polite wish out of it.

Emotion class, from the word (VADER gives only valence): a negative token is ``anger`` when its
stem is in ANGER_STEMS (anger words, insults, swearing; strong words of violence such as
``kill`` or ``murder`` are not anger, they are ``negative``), ``anxiety``/``sadness``/``disappointment`` by
ANXIETY_STEMS/SADNESS_STEMS/DISAPPOINTMENT_STEMS, else ``negative``; a positive token is
``gratitude``/``joy``/``satisfaction`` by GRATITUDE_STEMS/JOY_STEMS/SATISFACTION_STEMS, else
``positive``. Weight: ``|mean| / SCALE`` rounded to 0.01, at most 1 (VADER's strongest words,
``|mean|`` about 3.4, weigh 1.0 like the hand-written "strong" rows; a mild 1.0 weighs 0.3).

Re-run it whenever ``en/emotions.tsv`` or ``en/modifiers.tsv`` changes.
"""

from __future__ import annotations

import argparse
import importlib.resources
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "lexicons" / "en" / "emotions_vader.tsv"
HAND = (REPO / "lexicons" / "en" / "emotions.tsv", REPO / "lexicons" / "en" / "modifiers.tsv")
HEADER = "term\temotion\tweight\tnotes"

MIN_VALENCE = 0.3
SCALE = 3.0

WORD_RE = re.compile(r"[a-z](?:[a-z'\-]*[a-z])?(?: [a-z](?:[a-z'\-]*[a-z])?)*")
# Emoticons kept: the common Western faces, none of which occurs in ordinary prose or URLs.
EMOTICONS = frozenset(
    """:/ :-/ :( :-( :'( :'-( :[ :-[ :{ :< :-< :c :-c ;( >:( >:-( >:[ >;( :@ </3 d: d-:
    :) :-) :)) :-)) :') :'-) :] :-] :} :> :d :-d =) =] =d =-d :p :-p =p ;) ;-) ;] ;-] ;d
    :* :-* ;-* <3 ^^ \\o/ xd""".split()
)
STOPLIST = frozenset(
    """
    help helps helped helping ok okay yes yeah sure fine well care cares cared caring careful
    free freedom save saved saves saving share shared shares credit credits credited charged
    charges charge pay paid payment block blocked blocks hold holding holds true truth kind
    kinds party parties play playing played plays game games gamer please pleased want wants
    wanted join joined joining joins support supported supporting supports agrees accept
    accepted accepts accepting allow allowed allows trust trusted interest interested interests
    reach reached god gods lord matter matters mattered important importance fair fairly chance
    chances spirit spirits stop stopped stopping stops cancel cancelled canceled cancels
    cancelling declined decline declines fight fighting fights fought pretty grand dear feeling
    feelings huge big large certain certainly clear clearly easy easily easier easiest ready
    yeah yep no nope number numbers solve solved solves resolve resolved resolving fix fixed
    fixes top tops straight warm warmth cold value values worth active fit fits gift gifts
    prize prizes reward rewards rewarding bonus cash fund funds funding rich wealth wealthy win
    wins winner winning won positive negative amazon lost lose loses losing loss losses miss
    missed misses missing ignore ignored ignores alone limit limited limits demand demanded
    friend friends swift create created holiday holidays united giving increase increased
    rewarded approved validate special determined ensure welcomed promised curious serious
    vip pls plz fyi nfc mia kia aml iou lts axe rig fan low gla hak tia jho ijs kfy iyq vbs
    vbg vwd vwp mml mmk sok ptl txs lyb lyl lya gga bfe btd
    demands strange odd shock shocked surprise surprised surprising crazy ill forget forgot
    forgotten cut cuts drop drops dropped crush lower
    """.split()
)
ANGER_STEMS = (
    "anger",
    "angr",
    "annoy",
    "irritat",
    "furious",
    "fury",
    "hate",
    "hated",
    "hatred",
    "hating",
    "rage",
    "raging",
    "enrag",
    "mad",
    "madden",
    "outrag",
    "pissed",
    "piss",
    "disgust",
    "frustrat",
    "infuriat",
    "livid",
    "hostil",
    "resent",
    "bitter",
    "fuck",
    "shit",
    "damn",
    "crap",
    "bullshit",
    "bastard",
    "asshole",
    "dick",
    "bitch",
    "idiot",
    "stupid",
    "moron",
    "dumb",
    "fool",
    "jerk",
    "scum",
    "wtf",
    "screw",
    "hell",
    "sucks",
    "suck",
    "loser",
    "pathetic",
    "ridicul",
    "insult",
    "offend",
    "offens",
    "rude",
    "obnoxious",
    "aggravat",
    "grr",
    "ugh",
    "argh",
    "cheat",
    "liar",
    "lying",
    "lies",
    "scam",
    "fraud",
    "rip off",
    "ripoff",
    "disrespect",
    "contempt",
    "despis",
    "loath",
    "abhor",
    "douche",
    "prick",
    "hypocri",
    "traitor",
    "twat",
    "wank",
    "cunt",
    "scumbag",
    "aggressi",
    "cruel",
    "greed",
    "harass",
    "goddamn",
    "vile",
    "nasty",
    "incompet",
    "useless",
    "worthless",
    "fed up",
    "can't stand",
    ">:",
    ">;",
    ":@",
)
ANXIETY_STEMS = (
    "worr",
    "afraid",
    "fear",
    "scar",
    "nervous",
    "anxi",
    "panic",
    "terrif",
    "frighten",
    "dread",
    "stress",
    "concern",
    "uneas",
    "tense",
    "tension",
    "alarm",
    "apprehens",
    "paranoi",
    "insecur",
    "uncertain",
    "unsure",
    "doubt",
    "threat",
    "danger",
    "risk",
    "jittery",
    "spooked",
    "horrif",
    "horror",
)
SADNESS_STEMS = (
    "sad",
    "cry",
    "cried",
    "cries",
    "crying",
    "tear",
    "depress",
    "grief",
    "griev",
    "lonel",
    "sorrow",
    "heartbr",
    "heartbreak",
    "mourn",
    "miser",
    "hurt",
    "weep",
    "wept",
    "gloom",
    "despair",
    "hopeless",
    "unhapp",
    "lament",
    "tragic",
    "tragedy",
    "devastat",
    "suffer",
    "pain",
    "ache",
    "broken",
    "sorry",
    "regret",
    "remorse",
    "guilt",
    "ashamed",
    ":'(",
    ":'-(",
    "</3",
)
DISAPPOINTMENT_STEMS = (
    "disappoint",
    "letdown",
    "let down",
    "dissatisf",
    "unsatisf",
    "displeas",
    "fail",
    "waste",
    "pointless",
    "mediocre",
    "underwhelm",
    "shame",
    "poor",
    "inadequa",
    "unhelpful",
    "worse",
    "worst",
    "terrible",
    "awful",
    "horrible",
    "bad",
    "lame",
    "meh",
    "boring",
    "bored",
)
GRATITUDE_STEMS = ("thank", "grateful", "gratitude", "appreciat", "thx", "ty")
JOY_STEMS = (
    "love",
    "lovely",
    "happ",
    "joy",
    "glad",
    "excit",
    "fun",
    "laugh",
    "lol",
    "haha",
    "lmao",
    "rofl",
    "yay",
    "delight",
    "thrill",
    "enjoy",
    "cheer",
    "woo",
    "hooray",
    "amus",
    "hilari",
    "funny",
    "smil",
    "ecstat",
    "bless",
    "awesome",
    "amazing",
    "wonderful",
    "fantastic",
    "yummy",
    "adore",
    "<3",
    "\\o/",
    "xd",
    ":d",
    ":-d",
    "=d",
    "=-d",
    ";d",
)
SATISFACTION_STEMS = (
    "satisf",
    "good",
    "great",
    "nice",
    "excellent",
    "perfect",
    "impress",
    "well done",
    "brilliant",
    "superb",
    "outstanding",
    "recommend",
    "reliab",
    "efficien",
    "best",
    "better",
    "smooth",
    "convenien",
    "quality",
    "professional",
    "content",
    "comfort",
    "relie",
    "solid",
    "decent",
    "terrific",
    "fabulous",
    "marvel",
    "splendid",
)


def classify(term: str, mean: float) -> str:
    """The project's emotion class of a VADER token (module docstring)."""

    def has(stems: tuple[str, ...]) -> bool:
        words = term.split()
        return any(w.startswith(s) for s in stems for w in words) or term in stems

    if mean < 0:
        if has(ANGER_STEMS):
            return "anger"
        for emotion, stems in (
            ("anxiety", ANXIETY_STEMS),
            ("sadness", SADNESS_STEMS),
            ("disappointment", DISAPPOINTMENT_STEMS),
        ):
            if has(stems):
                return emotion
        return "negative"
    for emotion, stems in (
        ("gratitude", GRATITUDE_STEMS),
        ("joy", JOY_STEMS),
        ("satisfaction", SATISFACTION_STEMS),
    ):
        if has(stems):
            return emotion
    return "positive"


def read_vader(path: Path | None) -> list[tuple[str, float]]:
    """(token, mean valence) per line of VADER's lexicon, first line of a token wins."""
    if path is None:
        source = importlib.resources.files("vaderSentiment") / "vader_lexicon.txt"
        text = source.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    seen: dict[str, float] = {}
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) >= 2 and cols[0].strip():
            seen.setdefault(cols[0].strip().lower(), float(cols[1]))
    return list(seen.items())


def hand_terms() -> set[str]:
    terms: set[str] = set()
    for path in HAND:
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            if line and not line.startswith("#"):
                terms.add(line.split("\t")[0].strip().lower())
    return terms


def build(tokens: list[tuple[str, float]], hand: set[str]) -> tuple[list[str], dict[str, int]]:
    """The TSV rows (without header) and how many tokens each rule dropped."""
    dropped = {"form": 0, "weak": 0, "hand-written": 0, "stoplist": 0}
    rows = []
    for term, mean in sorted(tokens):
        if term not in EMOTICONS and (not WORD_RE.fullmatch(term)):
            dropped["form"] += 1
            continue
        if term not in EMOTICONS and len(term) < 3:
            dropped["form"] += 1  # two-letter slang: "gt", "po", "tx", "l" inside "L码"
            continue
        if abs(mean) < MIN_VALENCE:
            dropped["weak"] += 1
            continue
        if term in hand:
            dropped["hand-written"] += 1
            continue
        if term in STOPLIST:
            dropped["stoplist"] += 1
            continue
        weight = min(1.0, round(abs(mean) / SCALE, 2))
        rows.append(f"{term}\t{classify(term, mean)}\t{weight:g}\tvader {mean:+.1f}")
        curly = term.replace("'", "\u2019")
        if term not in EMOTICONS and curly != term and curly not in hand:
            rows.append(f"{curly}\t{classify(term, mean)}\t{weight:g}\tvader {mean:+.1f}")
    return rows, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexicon", type=Path, help="vader_lexicon.txt (default: the package's)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    tokens = read_vader(args.lexicon)
    rows, dropped = build(tokens, hand_terms())
    header = (
        "# Derived from VADER's lexicon (vaderSentiment 3.3.2, MIT, Copyright (c) 2016 C.J. Hutto;\n"
        "# see lexicons/LICENSE-VADER). Do not edit: python -m lexicons.tools.build_vader\n"
    )
    args.out.write_text(header + HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    for rule, n in dropped.items():
        print(f"dropped {n:5d} ({rule})", file=sys.stderr)
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
