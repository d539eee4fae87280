"""The labelled public data in ../shared/data, cut into fixed fit / dev / held-out parts.

Fitting and tuning code reads `load(name, "fit")` and `load(name, "dev")` only; the held-out
part comes from `load_heldout(name)`, which only bench.accuracy calls: nothing is ever tuned on
it. The data is not part of the project (see ../shared/data/README.md for sources and licences);
when it is absent `data_dir()` is None and callers say so and skip.

Where the data lives, first found wins: the `VOCSCORE_DATA` variable; `shared/data` beside the
project root; for a git worktree, `shared/data` beside the main checkout the worktree belongs to.

Sets and their parts (rows are `Row(text, labels, extra)`):

| name | fit | dev | held-out |
| --- | --- | --- | --- |
| zh_emotion | zh_weibo_virus_train | zh_weibo_virus_eval | zh_weibo_virus_test |
| en_emotion | en_goemotions_train, 85% | en_goemotions_train, 15% | en_goemotions_dev |
| en_intents | en_banking77_train, 70% | 15% | 15% |
| zh_reviews | zh_online_shopping_9cats, 70% | 15% | 15% |

Split by a seeded hash of the text (`SEED`), so a text given twice lands in one part, and the
parts do not move when rows are added or reordered. Held-out rows whose text is also in the fit
or dev part of the same set are dropped (the weibo test file repeats a few training posts).
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
ENV = "VOCSCORE_DATA"
SEED = 20260
PARTS = ("fit", "dev")  # what `load` gives; the held-out part is `load_heldout`'s alone
SETS = ("zh_emotion", "en_emotion", "en_intents", "zh_reviews")

# (file, label column(s)) and, for sets cut here, the (fit, dev) shares of 100.
_FILES = {
    "zh_emotion": {
        "fit": "emotion/zh_weibo_virus_train.tsv",
        "dev": "emotion/zh_weibo_virus_eval.tsv",
        "heldout": "emotion/zh_weibo_virus_test.tsv",
    },
    "en_emotion": {
        "train": "emotion/en_goemotions_train.tsv",
        "heldout": "emotion/en_goemotions_dev.tsv",
    },
    "en_intents": {"all": "intents/en_banking77_train.tsv"},
    "zh_reviews": {"all": "reviews/zh_online_shopping_9cats.tsv"},
}
_SHARES = {"en_emotion": (85, 15), "en_intents": (70, 15), "zh_reviews": (70, 15)}


class Row(NamedTuple):
    text: str
    labels: tuple[str, ...]  # one label, or GoEmotions' several
    extra: str = ""  # zh_reviews: the product category


def _main_checkout(root: Path) -> Path | None:
    """The main checkout a git worktree belongs to (its `.git` is a file naming the gitdir)."""
    dot_git = root / ".git"
    if not dot_git.is_file():
        return None
    try:
        line = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    gitdir = (root / line.split(":", 1)[1].strip()).resolve()
    common = gitdir / "commondir"
    try:
        common_dir = (gitdir / common.read_text(encoding="utf-8").strip()).resolve()
    except OSError:
        return None
    return common_dir.parent


def data_dir(explicit: str | Path | None = None, root: Path = REPO) -> Path | None:
    """The data folder, or None when it is absent (a user's clone)."""
    if explicit:
        path = Path(explicit)
        return path if path.is_dir() else None
    if os.environ.get(ENV):
        path = Path(os.environ[ENV])
        return path if path.is_dir() else None
    candidates = [root.parent / "shared" / "data"]
    main = _main_checkout(root)
    if main is not None:
        candidates.append(main.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


def part_of(text: str, shares: tuple[int, int], seed: int = SEED) -> str:
    """fit, dev or heldout for a text: a seeded hash of it, cut at the shares (of 100)."""
    digest = hashlib.blake2b(f"{seed}\0{text}".encode(), digest_size=8).digest()
    bucket = int.from_bytes(digest, "big") % 100
    if bucket < shares[0]:
        return "fit"
    if bucket < shares[0] + shares[1]:
        return "dev"
    return "heldout"


def read_tsv(path: Path) -> list[list[str]]:
    """Rows of a UTF-8 TSV with a header (dropped); a BOM and blank texts are dropped."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader, None)
        return [r for r in reader if r and r[0].strip()]


def _rows(name: str, records: list[list[str]]) -> list[Row]:
    out = []
    for r in records:
        text = r[0].strip().lstrip("\ufeff")
        if name == "en_emotion":
            labels = tuple(x.strip() for x in r[1].split(",") if x.strip())
        else:
            labels = (r[1].strip(),)
        out.append(Row(text, labels, r[2].strip() if len(r) > 2 else ""))
    return out


@lru_cache(maxsize=8)
def _parts(name: str, data: Path, seed: int) -> dict[str, tuple[Row, ...]]:
    if name not in _FILES:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(SETS)}")
    files = _FILES[name]
    parts: dict[str, list[Row]] = {"fit": [], "dev": [], "heldout": []}
    if name == "zh_emotion":
        for part, rel in files.items():
            parts[part] = _rows(name, read_tsv(data / rel))
    elif name == "en_emotion":
        for row in _rows(name, read_tsv(data / files["train"])):
            parts[part_of(row.text, (_SHARES[name][0], 100 - _SHARES[name][0]), seed)].append(row)
        parts["heldout"] = _rows(name, read_tsv(data / files["heldout"]))
    else:
        for row in _rows(name, read_tsv(data / files["all"])):
            parts[part_of(row.text, _SHARES[name], seed)].append(row)
    seen = {row.text for part in PARTS for row in parts[part]}
    parts["heldout"] = [row for row in parts["heldout"] if row.text not in seen]
    return {k: tuple(v) for k, v in parts.items()}


def _require(data: Path | None) -> Path:
    found = data_dir(data)
    if found is None:
        raise FileNotFoundError(
            f"labelled data not found (set {ENV} or place it at ../shared/data beside the project)"
        )
    return found


def load(name: str, part: str, data: Path | None = None, seed: int = SEED) -> list[Row]:
    """The fit or dev part of a set: all that fitting and tuning code may read."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS} (held-out rows: load_heldout, bench only)")
    return list(_parts(name, _require(data), seed)[part])


def load_heldout(name: str, data: Path | None = None, seed: int = SEED) -> list[Row]:
    """The held-out part: measured by bench.accuracy, never fitted or tuned on."""
    return list(_parts(name, _require(data), seed)["heldout"])


def sample(rows: Sequence[Row], limit: int, seed: int = SEED) -> list[Row]:
    """A seeded sample of at most `limit` rows (0: all), in a shuffled but fixed order."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows[:limit] if limit else rows


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.datasets`: where the data is and the size of each part."""
    found = data_dir()
    if found is None:
        print(f"labelled data not found (set {ENV} or ../shared/data); nothing to show")
        return 0
    print(f"data: {found}")
    for name in SETS:
        sizes = {p: len(load(name, p)) for p in PARTS}
        print(f"{name}: fit {sizes['fit']}, dev {sizes['dev']}, held-out {len(load_heldout(name))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
