"""Checks lexicon directories against the lexicon rules.

Usage: python -m lexicons.tools.validate [--standalone] [LEXICON_DIR ...]

- no directory: the built-in lexicons, then each pack under lexicons/_packs loaded over them;
- directories: loaded over the built-in set, in order, as the server loads `lexicons.extra_dirs`
  (what `vocscore lexicon check DIR ...` checks);
- `--standalone`: the directories alone, a complete set of their own (taxonomy included).

The rules are defined once, in server/lexicon.py (header rows, columns, enum values, weight
ranges, topic and id patterns, duplicates, topics in the taxonomy; and the authoring rules:
simplified zh terms, single characters only as modifiers, only {label} in openings); the server's
loader and `vocscore lexicon check` apply the same. Errors are printed as ``file:line: reason``;
exit status 1 if any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.lexicon import HEADERS, builtin_dir, check_dirs


def row_counts(root: Path) -> dict[str, int]:
    """Data rows (not header, comment or blank lines) per lexicon file under `root`."""
    counts: dict[str, int] = {}
    files = [*sorted(root.glob("*.tsv")), *sorted(root.glob("*/*.tsv"))]
    for path in files:
        if path.parent != root and path.parent.name.startswith((".", "_")):
            continue
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        data = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        counts[path.relative_to(root).as_posix()] = max(len(data) - 1, 0)
    return counts


def builtin_sets(root: Path) -> list[list[Path]]:
    """What a bare run checks: the built-in set alone, then each pack over it."""
    packs = root / "_packs"
    sets: list[list[Path]] = [[]]
    if packs.is_dir():
        sets += [[p] for p in sorted(packs.iterdir()) if p.is_dir()]
    return sets


def validate(dirs: list[Path], standalone: bool = False) -> list[str]:
    """Every `file:line: reason` error of `dirs` under the one set of lexicon rules."""
    return check_dirs(dirs, include_builtin=not standalone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lexicons.tools.validate",
        description=__doc__.splitlines()[0],
        epilog="file kinds: " + ", ".join(HEADERS),
    )
    parser.add_argument("dirs", nargs="*", type=Path, help="lexicon directories")
    parser.add_argument(
        "--standalone", action="store_true", help="check the directories without the built-in set"
    )
    args = parser.parse_args(argv)
    if args.standalone and not args.dirs:
        parser.error("--standalone needs at least one directory")
    builtin = Path(str(builtin_dir()))
    runs = [args.dirs] if args.dirs else builtin_sets(builtin)
    errors: list[str] = []
    for dirs in runs:
        errors += validate(dirs, args.standalone)
        for root in dirs or [builtin]:
            for name, count in row_counts(root).items():
                print(f"{root / name}: {count} rows")
    for line in errors:
        print(line, file=sys.stderr)
    print(f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
