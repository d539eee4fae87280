"""Fit lexicons/en/polarity_goemotions.tsv: document-level polarity of English written feedback.

Usage:
    python -m lexicons.tools.build_en_polarity [--out FILE]   # fit on the fit part, write table
    python -m lexicons.tools.build_en_polarity --eval         # ... and measure on the dev part

The English twin of ``build_review_polarity`` (same model, same table semantics, same kernel:
``Analyzer.analyze_document`` reads any ``en/polarity_*.tsv``), fitted on GoEmotions (Demszky
et al., 2020, Google Research; Apache 2.0): Reddit comments labelled with 27 emotions, read
through ``bench.datasets.load("en_emotion", "fit")`` (85% of the GoEmotions train file by a
seeded hash; the dev part, the other 15%, is only measured with ``--eval``; the held-out part,
the GoEmotions dev file, is never read). A comment's class is GoEmotions' own sentiment grouping
(``bench.accuracy.en_sign``); comments with no sign, or with both, are left out.

Features: character n-grams of MIN_N..MAX_N letters or digits inside one word (``grams`` of
``build_review_polarity``: no n-gram crosses a space or punctuation), so "disappoint" also counts
in "disappointing" and "disappointed", plus the utterance model's valence; an L2-regularised
logistic regression (L-BFGS, numpy), seeded by construction (no randomness). Re-run it when
``en/emotions*.tsv`` or the emotion model changes, since it leans on their valence.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from lexicons.tools import build_review_polarity as brp
from lexicons.tools.build_review_weights import LEXICONS

DEFAULT_OUT = LEXICONS / "en" / "polarity_goemotions.tsv"
SETTINGS = brp.Settings(min_n=3, max_n=5, min_df=3, max_features=30000, l2=1e-3, iters=300)


def prepare(part: str, an) -> list[brp.Doc]:
    from bench import datasets
    from bench.accuracy import en_sign
    from server.scoring import normalise

    docs = []
    for row in datasets.load("en_emotion", part):
        label = en_sign(row.labels)
        if label:
            _, norm = normalise(row.text)
            docs.append(brp.Doc(row.text, label, norm, float(an.analyze(row.text).emotion.valence)))
    return docs


GOEMOTIONS_SOURCE = (
    "# Source: GoEmotions (Demszky et al., 2020, Google Research, Apache 2.0), the fit part of",
    "# bench.datasets en_emotion (85% of its train file).",
)


def write(table: brp.Table, out: Path, n_docs: int) -> int:
    return brp.write_table(
        table,
        out,
        SETTINGS,
        n_docs,
        source=GOEMOTIONS_SOURCE,
        docs="comments",
        tool="lexicons.tools.build_en_polarity",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--eval", action="store_true", help="also measure on the dev part")
    parser.add_argument("--l2", type=float, default=SETTINGS.l2)
    args = parser.parse_args(argv)
    settings = replace(SETTINGS, l2=args.l2)
    an = brp.analyzer()
    t0 = time.perf_counter()
    fit_docs = prepare("fit", an)
    table = brp.rounded(brp.fit(fit_docs, settings))
    rows = write(table, args.out, len(fit_docs))
    print(
        f"fitted on {len(fit_docs)} comments in {time.perf_counter() - t0:.0f}s; "
        f"wrote {rows} n-gram rows to {args.out}",
        file=sys.stderr,
    )
    if args.eval:
        dev = prepare("dev", an)
        alone = [(d.valence, (d.valence > 0) - (d.valence < 0)) for d in dev]
        print(f"dev, utterance model alone: {brp.fmt(brp.metrics(dev, alone))}", file=sys.stderr)
        scored = brp.score_table(table, dev)
        print(f"dev, document classifier:   {brp.fmt(brp.metrics(dev, scored))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
