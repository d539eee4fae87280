"""Standalone checker for the lexicon files (the format in lexicons/README.md).

Usage: python -m lexicons.tools.validate [LEXICON_DIR ...]   (default: the lexicons/ folder)

Checks: exact header row, column count, enum values, weight ranges, topics present in the
taxonomy, no duplicate term within a file (case-insensitive for en), no empty or padded fields,
zh terms written in simplified characters (OpenCC t2s is a no-op on them), single-character zh
terms only in modifier files; polarity rows (derived document-classifier weights) need only a
number in [-100, 100]. Errors are printed as ``file:line: reason``; exit status 1 if any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HEADERS = {
    "taxonomy": ["topic", "parent", "label_zh", "label_en", "severity", "owner"],
    "topics": ["term", "topic", "weight", "polarity", "notes"],
    "emotions": ["term", "emotion", "weight", "notes"],
    "modifiers": ["term", "kind", "weight", "notes"],
    "entities": ["term", "entity", "weight", "notes"],
    "symptoms": ["term", "symptom", "weight", "notes"],
    "openings": ["topic", "polarity", "text", "notes"],
    "polarity": ["term", "weight", "notes"],
    "vocab": ["term", "notes"],  # neutral words: no weight (lexicons/tools/build_vocab.py)
    "escalation": ["term", "weight", "notes"],
    "complaints": ["term", "weight", "notes"],
}
POLARITY_LIMIT = 100.0  # |weight| of a document-classifier row (server.lexicon)
EMOTIONS = {
    "anger",
    "anxiety",
    "disappointment",
    "sadness",
    "satisfaction",
    "joy",
    "gratitude",
    "negative",
    "positive",
}
POLARITIES = {"complaint", "praise", "neutral"}
MODIFIER_RANGES = {  # kind -> (low, high), inclusive
    "negator": (-1.0, -0.01),
    "intensifier": (1.01, 2.0),
    "diminisher": (0.1, 0.99),
    "contrast": (1.01, 3.0),
}
TOPIC_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")

try:
    from opencc import OpenCC

    _T2S = OpenCC("t2s")
except Exception:  # pragma: no cover - opencc is a project dependency
    _T2S = None


def _kind(path: Path) -> str:
    return re.split(r"[_\-.]", path.name, maxsplit=1)[0]


def _rows(path: Path):
    with path.open(encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue
            yield n, line.split("\t")


def _weight(s: str):
    try:
        return float(s)
    except ValueError:
        return None


def check_file(path: Path, kind: str, lang: str | None, topics: set[str], errors: list[str]):
    where = str(path)
    rows = list(_rows(path))
    if not rows:
        errors.append(f"{where}:1: empty file (no header)")
        return set()
    n0, header = rows[0]
    if header != HEADERS[kind]:
        want = "<TAB>".join(HEADERS[kind])
        errors.append(f"{where}:{n0}: header must be {want!r}, got {header!r}")
        return set()
    seen: dict[str, int] = {}
    out = set()
    for n, cols in rows[1:]:

        def err(msg: str, n: int = n) -> None:
            errors.append(f"{where}:{n}: {msg}")

        if len(cols) != len(header):
            err(f"expected {len(header)} columns, got {len(cols)}")
            continue
        rec = dict(zip(header, cols, strict=True))
        for k, v in rec.items():
            if v != v.strip():
                err(f"column {k!r} has leading/trailing whitespace")
            if k != "notes" and not v:
                err(f"column {k!r} is empty")
        if kind == "taxonomy":
            t = rec["topic"]
            if not TOPIC_RE.match(t):
                err(f"topic {t!r} is not parent.child")
            elif rec["parent"] != t.split(".")[0]:
                err(f"parent {rec['parent']!r} does not match topic {t!r}")
            if rec["severity"] not in {"1", "2", "3"}:
                err(f"severity must be 1, 2 or 3, got {rec['severity']!r}")
            if t in seen:
                err(f"duplicate topic {t!r} (first on line {seen[t]})")
            seen[t] = n
            out.add(t)
            continue
        if kind == "openings":
            if rec["topic"] not in topics:
                err(f"topic {rec['topic']!r} not in taxonomy")
            if rec["polarity"] not in POLARITIES:
                err(f"polarity must be one of {sorted(POLARITIES)}")
            key = rec["topic"] + "/" + rec["polarity"]
            if key in seen:
                err(f"duplicate opening for {key} (first on line {seen[key]})")
            seen[key] = n
            bad = set(re.findall(r"\{([^}]*)\}", rec["text"])) - {"label"}
            if bad:
                err(f"unknown placeholder(s) {sorted(bad)}; only {{label}} is replaced")
            continue
        term = rec["term"]
        key = term.lower() if lang == "en" else term
        if key in seen:
            err(f"duplicate term {term!r} (first on line {seen[key]})")
        seen[key] = n
        if "\t" in term or "\n" in term:
            err("term contains a tab or newline")
        if lang == "en" and term != term.lower():
            err(f"en term {term!r} must be lowercase")
        if kind == "polarity":  # derived n-gram weights: any sign, any script the reviews used
            w = _weight(rec["weight"])
            if w is None or not -POLARITY_LIMIT <= w <= POLARITY_LIMIT:
                err(f"weight {rec['weight']!r} must be a number in [-100, 100]")
            continue
        if lang == "zh":
            if _T2S is not None and _T2S.convert(term) != term:
                err(f"zh term {term!r} is not simplified ({_T2S.convert(term)!r})")
            if kind != "modifiers" and len(term) < 2:
                err(f"single-character term {term!r} matches too broadly")
        if kind == "vocab":
            continue
        w = _weight(rec["weight"])
        if w is None:
            err(f"weight {rec['weight']!r} is not a number")
            continue
        if kind == "modifiers":
            k = rec["kind"]
            if k not in MODIFIER_RANGES:
                err(f"kind must be one of {sorted(MODIFIER_RANGES)}, got {k!r}")
                continue
            lo, hi = MODIFIER_RANGES[k]
            if not lo <= w <= hi:
                err(f"{k} weight {w} out of range [{lo}, {hi}]")
            continue
        if kind == "emotions" and w == 0:
            pass  # a shield: a longer neutral phrase that wins the match and adds nothing
        elif not 0 < w <= 1:
            err(f"weight {w} not in (0, 1]")
        if kind == "topics":
            if rec["topic"] not in topics:
                err(f"topic {rec['topic']!r} not in taxonomy")
            if rec["polarity"] not in POLARITIES:
                err(f"polarity must be one of {sorted(POLARITIES)}, got {rec['polarity']!r}")
        elif kind == "emotions":
            if rec["emotion"] not in EMOTIONS:
                err(f"emotion must be one of {sorted(EMOTIONS)}, got {rec['emotion']!r}")
        elif kind in ("escalation", "complaints"):
            pass  # a term and its weight only
        else:
            ident = rec[HEADERS[kind][1]]
            if not ID_RE.match(ident):
                err(f"{HEADERS[kind][1]} {ident!r} must be a lowercase dotted identifier")
    return out


def validate(root: Path, topics: set[str] | None = None) -> tuple[list[str], dict[str, int]]:
    errors: list[str] = []
    counts: dict[str, int] = {}
    tax = root / "taxonomy.tsv"
    topics = set(topics or ())
    if tax.exists():
        topics |= check_file(tax, "taxonomy", None, set(), errors)
        counts[str(tax.relative_to(root))] = len(list(_rows(tax))) - 1
    for lang_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name in {"zh", "en"}):
        for f in sorted(lang_dir.glob("*.tsv")):
            kind = _kind(f)
            if kind not in HEADERS or kind == "taxonomy":
                errors.append(f"{f}:1: unknown file kind {kind!r}")
                continue
            check_file(f, kind, lang_dir.name, topics, errors)
            counts[str(f.relative_to(root))] = len(list(_rows(f))) - 1
    return errors, counts


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    roots = [Path(a) for a in argv] or [Path(__file__).resolve().parent.parent]
    all_errors: list[str] = []
    topics: set[str] = set()
    for root in roots:
        errors, counts = validate(root, topics)
        all_errors += errors
        tax = root / "taxonomy.tsv"
        if tax.exists():
            topics |= {cols[0] for n, cols in list(_rows(tax))[1:] if cols}
        for name, c in counts.items():
            print(f"{root / name}: {c} rows")
    for e in all_errors:
        print(e, file=sys.stderr)
    print(f"{len(all_errors)} error(s)")
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main())
