"""Reading a CRM export for `vocscore import`: CSV (with a header) or JSONL, as Excel and CRM
tools actually write them. A bad line is reported at its own line number and never takes the rest
of the file with it: byte-order marks are dropped, the encoding is detected when the file is not
UTF-8 (GBK/GB18030 exports), a byte that does not decode rejects its line only, and a quote that
is never closed is reported where it opened."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# a quoted field may span lines (an address with a line break); one still open after this many
# lines is an unclosed quote, reported at the line it opened on
MAX_RECORD_LINES = 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class CrmFile:
    """The rows of one export: `rows()` yields (line number, row dict or the reason the line
    was rejected), in line order; `encoding` is the one used, `detected` whether it was guessed."""

    path: Path
    encoding: str = "utf-8"
    detected: bool = False
    data_lines: int = 0
    _lines: list[tuple[int, str | None, str]] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path, encoding: str | None = None) -> CrmFile:
        path = Path(path)
        raw = path.read_bytes()
        detected = False
        for bom, name in _BOMS:
            if raw.startswith(bom):
                # UTF-16/32 need the whole text decoded (their line breaks are two bytes)
                if name in ("utf-16", "utf-32"):
                    text = raw.decode(name)
                    return cls._from_text(path, text, name)
                raw = raw[len(bom) :]
                encoding = encoding or "utf-8"
                break
        if encoding is None:
            encoding, detected = _guess(raw)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"--encoding: unknown encoding {encoding!r}") from None
        crm = cls(path, encoding, detected)
        for n, line in enumerate(raw.split(b"\n"), 1):
            line = line.removesuffix(b"\r")
            try:
                crm._lines.append((n, line.decode(encoding), ""))
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.start + 1].hex()
                reason = (
                    f"not valid {encoding} (byte 0x{bad} at byte {exc.start + 1} of the line); "
                    "save the file as UTF-8 or pass --encoding (e.g. gb18030)"
                )
                crm._lines.append((n, None, reason))
        return crm

    @classmethod
    def _from_text(cls, path: Path, text: str, encoding: str) -> CrmFile:
        crm = cls(path, encoding, False)
        crm._lines = [(n, line, "") for n, line in enumerate(text.split("\n"), 1)]
        crm._lines = [(n, line.removesuffix("\r"), "") for n, line, _ in crm._lines]
        return crm

    def rows(self) -> Iterator[tuple[int, dict[str, Any] | str]]:
        if self.path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            yield from self._jsonl()
        else:
            yield from self._csv()

    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any] | str]]:
        for n, line, reason in self._lines:
            if line is None:
                self.data_lines += 1
                yield n, reason
                continue
            if not line.strip():
                continue
            self.data_lines += 1
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, f"invalid JSON: {exc.msg} (column {exc.colno})"
                continue
            yield n, row if isinstance(row, dict) else "expected a JSON object"

    def _csv(self) -> Iterator[tuple[int, dict[str, Any] | str]]:
        lines = self._lines
        i = 0
        header: list[str] | None = None
        while i < len(lines):
            n, line, reason = lines[i]
            if line is None:
                self.data_lines += 1
                yield n, reason
                i += 1
                continue
            if not line.strip():
                i += 1
                continue
            # one record: this line, plus the next ones while a quoted field is still open, as
            # long as the next line does not look like a record of its own
            text, j, fields, error = line, i, None, ""
            while True:
                try:
                    fields = next(csv.reader(io.StringIO(text), strict=True))
                    break
                except csv.Error as exc:
                    if j == i and "unexpected end of data" not in str(exc):
                        error = f"malformed CSV: {exc}"
                        break
                    nxt = lines[j + 1][1] if j + 1 < len(lines) else None
                    if (
                        "unexpected end of data" not in str(exc)
                        or nxt is None
                        or j - i + 1 >= MAX_RECORD_LINES
                        or (header and _looks_like_record(nxt, len(header)))
                    ):
                        break
                    j += 1
                    text += "\n" + nxt
            if fields is None:
                self.data_lines += 1
                yield n, error or 'unclosed quote: a " opened on this line is never closed'
                i += 1  # the rest of the file is read again from the next line
                continue
            i = j + 1
            if header is None:
                header = [h.strip() for h in fields]
                if "customer_id" not in header or "tier" not in header:
                    yield n, f"CSV header must name customer_id and tier, got {','.join(header)}"
                    return
                continue
            self.data_lines += 1
            if len(fields) > len(header):
                yield n, f"more fields than the header ({len(fields)} > {len(header)})"
                continue
            yield n, dict(zip(header, fields, strict=False))


def _looks_like_record(line: str, width: int) -> bool:
    """A line that parses on its own into exactly `width` fields starts a record of its own."""
    try:
        return len(next(csv.reader(io.StringIO(line), strict=True))) == width
    except (csv.Error, StopIteration):
        return False


def _guess(raw: bytes) -> tuple[str, bool]:
    """UTF-8 when the file decodes as UTF-8 (a stray byte or two still counts: those lines are
    rejected one by one); otherwise charset-normalizer's best guess (GB18030 for a GBK export)."""
    try:
        raw.decode("utf-8")
        return "utf-8", False
    except UnicodeDecodeError:
        pass
    # mostly UTF-8 with a few bad bytes: keep UTF-8 and reject only the lines that do not decode
    bad_lines = sum(1 for line in raw.split(b"\n") if not _decodes(line, "utf-8"))
    if bad_lines * 20 <= raw.count(b"\n") + 1:
        return "utf-8", False
    try:  # a Chinese CRM export that is not UTF-8 is GBK/GB18030 far more often than not
        text = raw.decode("gb18030")
        wide = [ch for ch in text if ord(ch) > 127]
        if sum(
            "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in wide
        ) >= 0.9 * len(wide):
            return "gb18030", True
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: 1 << 20]).best()
    if best is None:
        return "utf-8", False
    name = best.encoding.replace("_", "-").lower()
    if name in ("gbk", "gb2312", "hz", "cp936"):
        name = "gb18030"  # the superset: every GBK byte sequence decodes the same
    return name, True


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False
