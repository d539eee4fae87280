"""Lexicon loading and validation: the TSV files under lexicons/ (format in lexicons/README.md)."""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

log = logging.getLogger(__name__)

#: Header row of every file kind, exactly as in lexicons/README.md.
HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "taxonomy": ("topic", "parent", "label_zh", "label_en", "severity", "owner"),
        "combos": ("entity", "symptom", "topic", "weight", "notes"),
        "topics": ("term", "topic", "weight", "polarity", "notes"),
        "emotions": ("term", "emotion", "weight", "notes"),
        "modifiers": ("term", "kind", "weight", "notes"),
        "entities": ("term", "entity", "weight", "notes"),
        "symptoms": ("term", "symptom", "weight", "notes"),
        "openings": ("topic", "polarity", "text", "notes"),
        "polarity": ("term", "weight", "notes"),
        # the learned emotion model (server/emotion_model.py): a weight per output column
        "learned": ("term", "angry", "sad", "fear", "happy", "neutral", "valence", "notes"),
        "vocab": ("term", "notes"),
        "escalation": ("term", "weight", "notes"),
        "complaints": ("term", "weight", "notes"),
    }
)

#: File kind (plural, as in file names) -> the singular kind carried by term entries and matches.
TERM_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "topics": "topic",
        "emotions": "emotion",
        "modifiers": "modifier",
        "entities": "entity",
        "symptoms": "symptom",
        "vocab": "word",
        "escalation": "escalation",
        "complaints": "complaint",
    }
)
#: Reserved terms of a polarity file: the document classifier's intercept and the coefficient
#: of the engine's own valence (see server.scoring.Analyzer.analyze, `document=True`).
POLARITY_BIAS = "(bias)"
POLARITY_VALENCE = "(valence)"

# ---------------------------------------------------------------------------------------------
# The lexicon rules: one definition. The loader (`load_lexicon`, so the server) refuses a set
# that breaks a load rule; `check_dirs` (`vocscore lexicon check`, lexicons/tools/validate.py)
# reports those and the authoring rules below. README.md gives typical values; these are the
# hard limits beyond which a row is surely a typo.

TOPIC_POLARITIES = ("complaint", "praise", "neutral")
EMOTIONS = (
    "anger",
    "anxiety",
    "disappointment",
    "sadness",
    "satisfaction",
    "joy",
    "gratitude",
    "negative",
    "positive",
)
#: File kinds whose rows have no category column: the category is the term kind itself.
_KIND_IS_CATEGORY = frozenset(("vocab", "escalation", "complaints"))
MODIFIER_KINDS = ("negator", "intensifier", "diminisher", "contrast")


class Range(NamedTuple):
    """An allowed weight interval; `low_in`/`high_in`: whether each end is allowed. Unpacks to
    the arguments of `_weight` (`_weight(row, text, *a_range, errors)`)."""

    low: float
    high: float
    low_in: bool
    high_in: bool

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, (int, float)) or value != value:
            return False
        low_ok = value >= self.low if self.low_in else value > self.low
        return low_ok and (value <= self.high if self.high_in else value < self.high)

    def __str__(self) -> str:
        lo, hi = "[" if self.low_in else "(", "]" if self.high_in else ")"
        return f"{lo}{self.low:g}, {self.high:g}{hi}"


#: Weight of a modifier row by kind: negators flip (-1) or half-flip (-0.5); intensifiers and
#: contrast words scale up, diminishers down.
_MODIFIER_RANGES: Mapping[str, Range] = MappingProxyType(
    {
        "negator": Range(-1.0, 0.0, True, False),
        "intensifier": Range(1.0, 3.0, False, True),
        "diminisher": Range(0.0, 1.0, False, False),
        "contrast": Range(1.0, 3.0, False, True),
    }
)
MODIFIER_RANGES = _MODIFIER_RANGES
#: Weight of a row of the other file kinds. An emotion row may weigh 0: a shield, a longer
#: neutral phrase that wins the match and adds nothing.
WEIGHT_RANGES: Mapping[str, Range] = MappingProxyType(
    {
        "topics": Range(0.0, 1.0, False, True),
        "emotions": Range(0.0, 1.0, True, True),
        "entities": Range(0.0, 1.0, False, True),
        "symptoms": Range(0.0, 1.0, False, True),
        "polarity": Range(-100.0, 100.0, True, True),
    }
)
_POLARITY_WEIGHT_LIMIT = WEIGHT_RANGES["polarity"].high
#: A taxonomy topic: `parent.child`, each part lowercase a-z first, then a-z, 0-9 and _.
_TOPIC_RE = TOPIC_RE = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
#: An entity or symptom id: lowercase a-z first, then a-z, 0-9, _ and dots.
_CATEGORY_RE = CATEGORY_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
SEVERITIES = ("1", "2", "3")
#: The only placeholder an opening may hold (replaced by the topic's label).
OPENING_PLACEHOLDERS = ("label",)
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")

# Authoring rules (`check_dirs` only: they need OpenCC over every term, too slow for start-up):
# - a zh term is written in simplified characters (the loader adds the traditional form; a
#   traditional term would never match simplified text);
# - a single-character zh term only in a modifier file (one character as a topic or an emotion
#   matches inside too many words), and no single ASCII letter or digit as a term of any other
#   language outside one ("l" would read 尺码是L码 as positive; emoji are fine);
# - an opening uses no placeholder but {label}.
_LANG_RE = re.compile(r"[a-z]{2,3}")
_SPLIT_RE = re.compile(r"[._-]")


class LexiconError(ValueError):
    """A lexicon file is malformed; the message is `file:line: reason`."""


@dataclass(frozen=True, slots=True)
class TermEntry:
    """One lexicon row; `term` is NFKC+casefolded, `variants` are extra (traditional) forms."""

    term: str
    kind: str  # topic | emotion | modifier | entity | symptom | word | escalation | complaint
    # topic id, emotion, modifier kind, entity id or symptom id; the kind again for the last three
    category: str
    weight: float
    polarity: str  # topics only: complaint | praise | neutral; "" otherwise
    lang: str
    source: str  # file:line
    variants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """One taxonomy row."""

    topic: str
    parent: str
    label_zh: str
    label_en: str
    severity: int
    owner: str
    label_zh_hant: str = ""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """An immutable, validated set of lexicons; build one with `load_lexicon`."""

    version: str
    terms: tuple[TermEntry, ...]
    taxonomy: Mapping[str, TopicInfo]
    # (lang, topic, polarity) -> text with {label}; lang "zh-hant" holds the traditional copies
    openings: Mapping[tuple[str, str, str], str]
    term_counts: Mapping[str, int]  # file kind -> rows in effect (after overrides)
    dirs: tuple[str, ...] = field(default=())
    # lang -> n-gram (or POLARITY_BIAS / POLARITY_VALENCE) -> weight: the document classifier.
    # Fitted on text as written, so no traditional variants are added.
    polarity: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # lang -> n-gram (or a reserved "(...)" row) -> weights: the learned emotion model
    # (server/emotion_model.py), fitted by lexicons/tools/fit_emotions.py on text as written.
    learned: Mapping[str, Mapping[str, tuple[float, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # (entity id or a family prefix of it, symptom id) -> (topic, weight): what an entity and a
    # symptom found together complain about ("feature.payment" + "cannot_pay" -> payment.failure).
    combos: Mapping[tuple[str, str], tuple[str, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def counts(self) -> dict[str, int]:
        """Rows in effect per file kind (taxonomy, topics, emotions, ...), for stats."""
        return dict(self.term_counts)

    def topics(self) -> tuple[str, ...]:
        return tuple(sorted(self.taxonomy))

    def label(self, topic: str, locale: str = "zh") -> str:
        """The topic's label for `locale` (zh*, en*); zh-TW/zh-HK/zh-Hant get traditional text.

        An unknown topic (e.g. one stored in a profile before a lexicon reload removed it) returns
        the topic id itself, so a card can always be drawn.
        """
        info = self.taxonomy.get(topic)
        if info is None:
            return topic
        lang = _lang_of(locale)
        if lang == "zh":
            if _is_hant(locale) and info.label_zh_hant:
                return info.label_zh_hant
            return info.label_zh
        return info.label_en

    def severity(self, topic: str) -> int:
        """Severity 1-3; 1 for an unknown topic."""
        info = self.taxonomy.get(topic)
        return info.severity if info is not None else 1

    def owner(self, topic: str) -> str:
        """The routing owner of the topic; "" for an unknown topic."""
        info = self.taxonomy.get(topic)
        return info.owner if info is not None else ""

    def opening(self, topic: str, polarity: str, locale: str = "zh") -> str | None:
        """The agent's suggested opening line with `{label}` filled, or None if there is none."""
        lang = _lang_of(locale)
        text = self.openings.get((lang, topic, polarity))
        if text is None:
            return None
        if lang == "zh" and _is_hant(locale):
            text = self.openings.get(("zh-hant", topic, polarity), text)
        return text.replace("{label}", self.label(topic, locale))


def _lang_of(locale: str) -> str:
    return _SPLIT_LOCALE.split(locale.strip().lower(), 1)[0] or "zh"


_SPLIT_LOCALE = re.compile(r"[-_]")


def _is_hant(locale: str) -> bool:
    low = locale.lower()
    return "hant" in low or low.endswith(("-tw", "_tw", "-hk", "_hk", "-mo", "_mo"))


def normalize_term(term: str) -> str:
    """Normal form of terms and of scored text: NFKC (full-width -> half-width) then casefold."""
    return unicodedata.normalize("NFKC", term).casefold()


def pack_dir(name: str) -> Path:
    """An optional lexicon pack shipped under lexicons/_packs/NAME (loaded only when named)."""
    path = Path(str(builtin_dir())) / "_packs" / name
    if not path.is_dir():
        raise LexiconError(f"{path}:0: no lexicon pack named {name!r}")
    return path


def builtin_dir() -> Traversable:
    """The built-in `lexicons` directory (a package resource)."""
    try:
        root = importlib.resources.files("lexicons")
        if root.is_dir():
            return root
    except (ModuleNotFoundError, NotADirectoryError, TypeError):
        pass
    # A namespace package (no __init__.py) can confuse importlib.resources on 3.11; use its path.
    spec = importlib.util.find_spec("lexicons")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if Path(location).is_dir():
                return Path(location)
    return Path(__file__).resolve().parent.parent / "lexicons"


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(slots=True)
class _Row:
    source: str  # file:line
    cols: list[str]


@dataclass(slots=True)
class _File:
    dir_index: int
    path: Traversable
    display: str
    rel: str
    kind: str
    lang: str  # "" for taxonomy
    data: bytes


class _Collector:
    """Gathers every error so `check_dirs` can report them all; `load_lexicon` raises the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, where: str, reason: str) -> None:
        self.errors.append(f"{where}: {reason}")


def _list_files(dir_index: int, root: Traversable | Path, errors: _Collector) -> Iterable[_File]:
    root_name = str(root)
    if not root.is_dir():
        errors.add(f"{root_name}:0", "not a directory")
        return
    entries = sorted(root.iterdir(), key=lambda p: p.name)
    for entry in entries:
        if entry.is_dir():
            if entry.name.startswith((".", "_")):
                continue
            lang = entry.name
            for sub in sorted(entry.iterdir(), key=lambda p: p.name):
                if sub.is_file() and sub.name.endswith(".tsv"):
                    display = f"{root_name}/{lang}/{sub.name}"
                    kind = _kind_of(sub.name)
                    if not _LANG_RE.fullmatch(lang):
                        errors.add(f"{display}:1", f"folder {lang!r} is not a language code")
                        continue
                    if kind not in HEADERS:
                        errors.add(f"{display}:1", _unknown_kind(sub.name))
                        continue
                    if kind in ("taxonomy", "combos"):
                        errors.add(f"{display}:1", f"{kind} files belong in the top folder")
                        continue
                    yield _File(
                        dir_index, sub, display, f"{lang}/{sub.name}", kind, lang, sub.read_bytes()
                    )
        elif entry.is_file() and entry.name.endswith(".tsv"):
            display = f"{root_name}/{entry.name}"
            kind = _kind_of(entry.name)
            if kind not in HEADERS:
                errors.add(f"{display}:1", _unknown_kind(entry.name))
                continue
            if kind not in ("taxonomy", "combos"):
                errors.add(f"{display}:1", f"{kind} files belong in a language folder (zh/, en/)")
                continue
            yield _File(dir_index, entry, display, entry.name, kind, "", entry.read_bytes())


def _kind_of(name: str) -> str:
    return _SPLIT_RE.split(name, 1)[0].lower()


def _unknown_kind(name: str) -> str:
    return f"unknown lexicon kind {_kind_of(name)!r} (file names start with one of: " + (
        ", ".join(HEADERS) + ")"
    )


def _rows(f: _File, errors: _Collector) -> list[_Row]:
    try:
        text = f.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = f.data[: exc.start].count(b"\n") + 1
        errors.add(f"{f.display}:{line}", "not valid UTF-8")
        return []
    if text.startswith("\ufeff"):
        text = text[1:]
    header = HEADERS[f.kind]
    rows: list[_Row] = []
    seen_header = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.rstrip("\r").split("\t")
        where = f"{f.display}:{lineno}"
        if not seen_header:
            seen_header = True
            if tuple(c.strip() for c in cols) != header:
                errors.add(where, "header must be " + repr("\t".join(header)) + f", got {line!r}")
                return []
            continue
        # A trailing empty `notes` column is often trimmed by editors: accept it missing.
        if len(cols) == len(header) - 1 and header[-1] == "notes":
            cols.append("")
        if len(cols) != len(header):
            errors.add(where, f"expected {len(header)} tab-separated columns, got {len(cols)}")
            continue
        rows.append(_Row(where, [c.strip() for c in cols]))
    if not seen_header:
        errors.add(f"{f.display}:1", "missing header row " + repr("\t".join(header)))
    return rows


def _weight(
    row: _Row, text: str, low: float, high: float, low_in: bool, high_in: bool, e: _Collector
) -> float:
    try:
        value = float(text)
    except ValueError:
        e.add(row.source, f"weight {text!r} is not a number")
        return float("nan")
    ok = (value >= low if low_in else value > low) and (value <= high if high_in else value < high)
    if not ok or value != value:
        lo = "[" if low_in else "("
        hi = "]" if high_in else ")"
        e.add(row.source, f"weight {text!r} out of range {lo}{low:g}, {high:g}{hi}")
        return float("nan")
    return value


def _parse_taxonomy(f: _File, e: _Collector, into: dict[str, TopicInfo]) -> None:
    seen: dict[str, str] = {}
    for row in _rows(f, e):
        topic, parent, label_zh, label_en, severity, owner = row.cols
        if not _TOPIC_RE.fullmatch(topic):
            e.add(row.source, f"topic {topic!r} must look like parent.child (lowercase, digits, _)")
            continue
        if topic in seen:
            e.add(row.source, f"duplicate topic {topic!r} (first at {seen[topic]})")
            continue
        seen[topic] = row.source
        if parent != topic.split(".", 1)[0]:
            e.add(row.source, f"parent {parent!r} must be the first part of {topic!r}")
            continue
        if not label_zh or not label_en:
            e.add(row.source, "label_zh and label_en must not be empty")
            continue
        if severity not in SEVERITIES:
            e.add(row.source, f"severity {severity!r} must be 1, 2 or 3")
            continue
        if not owner:
            e.add(row.source, "owner must not be empty")
            continue
        into[topic] = TopicInfo(topic, parent, label_zh, label_en, int(severity), owner)


def _parse_terms(
    f: _File, e: _Collector, taxonomy: Mapping[str, TopicInfo], into: dict[str, TermEntry]
) -> None:
    kind = TERM_KINDS[f.kind]
    raw_seen: dict[str, str] = {}
    for row in _rows(f, e):
        term = normalize_term(row.cols[0])
        category = kind if f.kind in _KIND_IS_CATEGORY else row.cols[1]
        if not term:
            e.add(row.source, "term must not be empty")
            continue
        if row.cols[0] in raw_seen:
            e.add(row.source, f"duplicate term {row.cols[0]!r} (first at {raw_seen[row.cols[0]]})")
            continue
        raw_seen[row.cols[0]] = row.source
        polarity = ""
        if f.kind == "topics":
            if category not in taxonomy:
                e.add(row.source, f"topic {category!r} is not in the taxonomy")
                continue
            weight = _weight(row, row.cols[2], *WEIGHT_RANGES[f.kind], e)
            polarity = row.cols[3]
            if polarity not in TOPIC_POLARITIES:
                e.add(row.source, f"polarity {polarity!r} must be one of {TOPIC_POLARITIES}")
                continue
        elif f.kind == "emotions":
            if category not in EMOTIONS:
                e.add(row.source, f"emotion {category!r} must be one of {EMOTIONS}")
                continue
            weight = _weight(row, row.cols[2], *WEIGHT_RANGES[f.kind], e)
        elif f.kind == "modifiers":
            if category not in MODIFIER_KINDS:
                e.add(row.source, f"kind {category!r} must be one of {MODIFIER_KINDS}")
                continue
            weight = _weight(row, row.cols[2], *_MODIFIER_RANGES[category], e)
        elif f.kind == "vocab":  # a word with no meaning of its own (lexicons/README.md)
            weight = 0.0
        elif f.kind in _KIND_IS_CATEGORY:  # escalation threats, complaint markers
            weight = _weight(row, row.cols[1], 0.0, 1.0, False, True, e)
        else:
            if not _CATEGORY_RE.fullmatch(category):
                e.add(row.source, f"id {category!r} must be lowercase a-z, 0-9, _ and dots")
                continue
            weight = _weight(row, row.cols[2], *WEIGHT_RANGES[f.kind], e)
        if weight != weight:  # NaN: already reported
            continue
        entry = TermEntry(term, kind, category, weight, polarity, f.lang, row.source)
        if not _add_entry(into, entry, e):
            continue


def _same_meaning(a: TermEntry, b: TermEntry) -> bool:
    return (a.category, a.weight, a.polarity) == (b.category, b.weight, b.polarity)


def _add_entry(into: dict[str, TermEntry], entry: TermEntry, e: _Collector) -> bool:
    """Adds a term unless an earlier row has it; case/width variants ("App", "app", "ＡＰＰ")
    fold to one term and are accepted when they mean the same, an error when they do not."""
    first = into.get(entry.term)
    if first is None:
        into[entry.term] = entry
        return True
    if not _same_meaning(first, entry):
        e.add(
            entry.source,
            f"duplicate term {entry.term!r} with another meaning (first at {first.source})",
        )
    return False


def _parse_openings(
    f: _File,
    e: _Collector,
    taxonomy: Mapping[str, TopicInfo],
    into: dict[tuple[str, str, str], str],
) -> None:
    seen: dict[tuple[str, str], str] = {}
    for row in _rows(f, e):
        topic, polarity, text = row.cols[0], row.cols[1], row.cols[2]
        if topic not in taxonomy:
            e.add(row.source, f"topic {topic!r} is not in the taxonomy")
            continue
        if polarity not in TOPIC_POLARITIES:
            e.add(row.source, f"polarity {polarity!r} must be one of {TOPIC_POLARITIES}")
            continue
        if not text:
            e.add(row.source, "text must not be empty")
            continue
        if (topic, polarity) in seen:
            first = seen[topic, polarity]
            e.add(row.source, f"duplicate opening {topic} {polarity} (first at {first})")
            continue
        seen[topic, polarity] = row.source
        into[f.lang, topic, polarity] = text


def _parse_combos(
    f: _File,
    e: _Collector,
    taxonomy: Mapping[str, TopicInfo],
    into: dict[tuple[str, str], tuple[str, float]],
) -> None:
    for row in _rows(f, e):
        entity, symptom, topic = row.cols[:3]
        if not _CATEGORY_RE.fullmatch(entity) or not _CATEGORY_RE.fullmatch(symptom):
            e.add(row.source, "entity and symptom must be lowercase ids (a-z, 0-9, _ and dots)")
            continue
        if topic not in taxonomy:
            e.add(row.source, f"topic {topic!r} is not in the taxonomy")
            continue
        weight = _weight(row, row.cols[3], 0.0, 1.0, False, True, e)
        if weight == weight:
            into[entity, symptom] = (topic, weight)


def _parse_polarity(f: _File, e: _Collector, into: dict) -> None:
    """Rows of a fitted model (`polarity`, `learned`): a term (an n-gram or a reserved row) and
    its finite weights, one per column between the term and the notes (a polarity file's one
    weight is stored as a float, a learned file's as a tuple).

    Tens of thousands of machine-written rows: read with a loop of its own that formats a
    `file:line` only for an error (the shared row reader costs ~4 us a row, most of start-up).
    """
    try:
        text = f.data.decode("utf-8")
    except UnicodeDecodeError:
        _rows(f, e)  # reports the line
        return
    lines = text.removeprefix("\ufeff").splitlines()
    header = "\t".join(HEADERS[f.kind])
    n_weights = len(HEADERS[f.kind]) - 2
    limit = _POLARITY_WEIGHT_LIMIT
    first_line: dict[str, int] = {}
    seen_header = False
    for lineno, line in enumerate(lines, start=1):
        if not line or line[0] == "#" or not line.strip() or line.lstrip()[0] == "#":
            continue
        if not seen_header:
            if line.rstrip("\r").replace(" ", "") != header:
                _rows(f, e)  # reports the header
                return
            seen_header = True
            continue
        cols = line.rstrip("\r").split("\t")
        if len(cols) not in (n_weights + 1, n_weights + 2):
            e.add(
                f"{f.display}:{lineno}",
                f"expected {n_weights + 2} tab-separated columns, got {len(cols)}",
            )
            continue
        raw = cols[0].strip()
        term = raw if raw.isascii() and raw.islower() else normalize_term(raw)
        if not term:
            e.add(f"{f.display}:{lineno}", "term must not be empty")
            continue
        if term in first_line:
            where = f"{f.display}:{lineno}"
            e.add(where, f"duplicate term {raw!r} (first at {f.display}:{first_line[term]})")
            continue
        first_line[term] = lineno
        try:
            weights = tuple(map(float, cols[1 : n_weights + 1]))
        except ValueError:
            weights = (float("nan"),)
        if not all(-limit <= w <= limit for w in weights):  # also rejects NaN
            for col in cols[1 : n_weights + 1]:  # reports the first bad column
                row = _Row(f"{f.display}:{lineno}", [col.strip()])
                weight = _weight(row, row.cols[0], *WEIGHT_RANGES["polarity"], e)
                if weight != weight:  # NaN: reported
                    break
            continue
        into[term] = weights[0] if n_weights == 1 else weights
    if not seen_header:
        _rows(f, e)  # reports the missing header


def _resolve_dirs(extra_dirs: Sequence[Path | str], include_builtin: bool) -> list[Traversable]:
    dirs: list[Traversable] = [builtin_dir()] if include_builtin else []
    dirs.extend(Path(d) for d in extra_dirs)
    return dirs


def _build(dirs: Sequence[Traversable], errors: _Collector) -> Lexicon:
    files = [f for i, d in enumerate(dirs) for f in _list_files(i, d, errors)]
    taxonomy: dict[str, TopicInfo] = {}
    for f in files:
        if f.kind == "taxonomy":
            _parse_taxonomy(f, errors, taxonomy)
    # Later directories override earlier ones per (kind, language, term); within one directory a
    # term must mean one thing, so a second file of the same kind+language repeating it is an error.
    merged: dict[tuple[str, str], dict[str, TermEntry]] = {}
    openings: dict[tuple[str, str, str], str] = {}
    polarity: dict[str, dict[str, float]] = {}
    learned: dict[str, dict[str, tuple[float, ...]]] = {}
    combos: dict[tuple[str, str], tuple[str, float]] = {}
    for f in files:  # a later directory's rows override an earlier one's
        if f.kind == "combos":
            _parse_combos(f, errors, taxonomy, combos)
    for i in range(len(dirs)):
        per_dir: dict[tuple[str, str], dict[str, TermEntry]] = {}
        for f in files:
            if f.dir_index != i or f.kind in ("taxonomy", "combos"):
                continue
            if f.kind == "openings":
                _parse_openings(f, errors, taxonomy, openings)
                continue
            if f.kind == "polarity":  # a later directory's rows override an earlier one's
                _parse_polarity(f, errors, polarity.setdefault(f.lang, {}))
                continue
            if f.kind == "learned":  # likewise
                _parse_polarity(f, errors, learned.setdefault(f.lang, {}))
                continue
            bucket = per_dir.setdefault((f.kind, f.lang), {})
            fresh: dict[str, TermEntry] = {}
            _parse_terms(f, errors, taxonomy, fresh)
            for entry in fresh.values():
                _add_entry(bucket, entry, errors)
        for key, bucket in per_dir.items():
            merged.setdefault(key, {}).update(bucket)
    taxonomy, openings, merged = _add_traditional(taxonomy, openings, merged)
    terms = tuple(entry for key in sorted(merged) for entry in merged[key].values())
    counts = {kind: 0 for kind in HEADERS}
    counts["taxonomy"] = len(taxonomy)
    counts["openings"] = sum(1 for key in openings if key[0] != "zh-hant")
    for (kind, _lang), bucket in merged.items():
        counts[kind] += len(bucket)
    counts["polarity"] = sum(map(len, polarity.values()))
    counts["learned"] = sum(map(len, learned.values()))
    counts["combos"] = len(combos)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.dir_index}\0{f.rel}\0".encode())
        digest.update(f.data)
        digest.update(b"\0")
    return Lexicon(
        version=digest.hexdigest()[:12],
        terms=terms,
        taxonomy=MappingProxyType(taxonomy),
        openings=MappingProxyType(openings),
        term_counts=MappingProxyType(counts),
        dirs=tuple(str(d) for d in dirs),
        polarity=MappingProxyType({k: MappingProxyType(v) for k, v in polarity.items()}),
        learned=MappingProxyType({k: MappingProxyType(v) for k, v in learned.items()}),
        combos=MappingProxyType(combos),
    )


def _add_traditional(
    taxonomy: dict[str, TopicInfo],
    openings: dict[tuple[str, str, str], str],
    merged: dict[tuple[str, str], dict[str, TermEntry]],
) -> tuple[dict, dict, dict]:
    """Give Chinese terms their traditional forms once at load, so no request converts text."""
    zh_entries = [e for (_k, lang), b in merged.items() if lang == "zh" for e in b.values()]
    zh_open = [(k, v) for k, v in openings.items() if k[0] == "zh"]
    labels = [info.label_zh for info in taxonomy.values()]
    texts = [e.term for e in zh_entries] + [v for _k, v in zh_open] + labels
    if not texts:
        return taxonomy, openings, merged
    from opencc import OpenCC  # slow to import; only needed when Chinese data exists

    # One call over the joined text: OpenCC's per-call overhead dominates for short terms.
    converted = OpenCC("s2t").convert("\n".join(t.replace("\n", " ") for t in texts)).split("\n")
    if len(converted) != len(texts):  # defensive: never trust a joined round trip blindly
        converted = [OpenCC("s2t").convert(t) for t in texts]
    it = iter(converted)
    for entry in zh_entries:
        trad = normalize_term(next(it))
        if trad != entry.term:
            bucket = merged[TERM_KINDS_REV[entry.kind], entry.lang]
            bucket[entry.term] = TermEntry(
                entry.term,
                entry.kind,
                entry.category,
                entry.weight,
                entry.polarity,
                entry.lang,
                entry.source,
                (trad,),
            )
    for key, _text in zh_open:
        openings["zh-hant", key[1], key[2]] = next(it)
    for topic in list(taxonomy):
        info = taxonomy[topic]
        taxonomy[topic] = TopicInfo(
            info.topic,
            info.parent,
            info.label_zh,
            info.label_en,
            info.severity,
            info.owner,
            next(it),
        )
    return taxonomy, openings, merged


TERM_KINDS_REV: Mapping[str, str] = MappingProxyType({v: k for k, v in TERM_KINDS.items()})


def load_lexicon(extra_dirs: Sequence[Path | str] = (), *, include_builtin: bool = True) -> Lexicon:
    """Load the built-in lexicons, then each of `extra_dirs` (overriding), or raise LexiconError.

    `include_builtin=False` loads only `extra_dirs` (tests, or a deployment shipping its own set).
    """
    errors = _Collector()
    lexicon = _build(_resolve_dirs(extra_dirs, include_builtin), errors)
    if errors.errors:
        more = len(errors.errors) - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        raise LexiconError(errors.errors[0] + suffix)
    log.info(
        "lexicons loaded: version %s, %d terms, %d topics",
        lexicon.version,
        len(lexicon.terms),
        len(lexicon.taxonomy),
    )
    return lexicon


def check_dirs(
    dirs: Sequence[Path | str], *, include_builtin: bool = True, authoring: bool = True
) -> list[str]:
    """Every `file:line: reason` error of `dirs` (loaded over the built-in set); [] when valid.

    The load rules, and with `authoring` the authoring rules (simplified zh terms, single
    characters only as modifiers, openings' placeholders): what `vocscore lexicon check` and
    lexicons/tools/validate.py report.
    """
    errors = _Collector()
    resolved = _resolve_dirs(dirs, include_builtin)
    _build(resolved, errors)
    if authoring:
        files = [f for i, d in enumerate(resolved) for f in _list_files(i, d, _Collector())]
        errors.errors += authoring_errors(files)
    return errors.errors


def authoring_errors(files: Iterable[_File]) -> list[str]:
    """The authoring rules over parsed rows (rows the load rules reject are skipped here)."""
    e = _Collector()
    zh_terms: list[tuple[str, str]] = []  # (where, term)
    for f in files:
        if f.kind in ("taxonomy", "polarity", "learned"):  # fitted n-grams: rules in their script
            continue
        rows = _rows(f, _Collector())
        if f.kind == "openings":
            for row in rows:
                bad = sorted(set(_PLACEHOLDER_RE.findall(row.cols[2])) - set(OPENING_PLACEHOLDERS))
                if bad:
                    e.add(row.source, f"unknown placeholder(s) {bad}; only {{label}} is replaced")
            continue
        if f.lang != "zh":
            for row in rows:
                term = row.cols[0]
                if len(term) == 1 and term.isascii() and term.isalnum() and f.kind != "modifiers":
                    e.add(row.source, f"single-letter term {term!r} matches too broadly")
            continue
        for row in rows:
            term = row.cols[0]
            if len(term) == 1 and f.kind != "modifiers":
                e.add(
                    row.source,
                    f"single-character zh term {term!r} matches too broadly "
                    "(only modifier files may hold one)",
                )
            zh_terms.append((row.source, term))
    if zh_terms:
        simple_forms = to_simplified([t for _, t in zh_terms])
        for (where, term), simple in zip(zh_terms, simple_forms, strict=True):
            if simple != term:
                e.add(where, f"zh term {term!r} is not simplified (write {simple!r})")
    return e.errors


def to_simplified(texts: Sequence[str]) -> list[str]:
    """OpenCC t2s of each text, in one call over the joined texts (per-call cost dominates)."""
    from opencc import OpenCC

    t2s = OpenCC("t2s")
    out = t2s.convert("\n".join(t.replace("\n", " ") for t in texts)).split("\n")
    if len(out) != len(texts):  # defensive, as in _add_traditional
        out = [t2s.convert(t) for t in texts]
    return out
