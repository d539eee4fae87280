"""Masks personal data (phones, ID-card and bank-card numbers, e-mail) in free text before storing."""

from __future__ import annotations

import re
from collections.abc import Callable

# a digit-group separator inside one number: space, dash, dot or underscore (137.1234.5678)
_SEP = r"[ ._-]?"
# a month and a day of a birth date, as in both forms of the resident ID
_MMDD = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# top-level domains of internationalised (IDN) e-mail addresses written in CJK; other scripts'
# TLDs are any run of letters outside CJK, so the Chinese text after an address is not taken in
_CJK_TLDS = (
    "中国|中國|公司|网络|網絡|在线|网址|网店|中文网|商城|香港|台湾|台灣|新加坡|政务|公益|移动|集团"
)
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_DOT = r"[.。．｡]"  # IDNA accepts the ideographic full stops as label separators
_DOMAIN = (
    rf"(?:{_LABEL}{_DOT})+"
    rf"(?:{_CJK_TLDS}|[^\W\d_{_CJK}]{{2,}})"
)


_DIGIT_GROUP = re.compile(r"\d+")


def _card_span(match: re.Match[str]) -> int:
    """How much of a run of digit groups is a bank card: the longest leading groups holding 16-19
    digits (a card followed by a quantity or an order number keeps the rest); 0 when none."""
    digits = end = 0
    for group in _DIGIT_GROUP.finditer(match.group()):
        digits += len(group.group())
        if digits > 19:
            break
        if digits >= 16:
            end = group.end()
    return end


# each pattern masks its whole match, or as much of it as its function says (0: nothing)
_PATTERNS: tuple[tuple[re.Pattern[str], str, Callable[[re.Match[str]], int] | None], ...] = (
    # e-mail first: its digits must not be taken for a phone number; the local part stops at
    # CJK text (邮箱zhang@qq.com), unless it is all CJK (张三@例子.中国)
    # (the lookbehinds start a match only where a local part can begin: linear, not quadratic)
    (
        re.compile(rf"(?<![^\W{_CJK}])(?<![.%+-])[^\W{_CJK}]+(?:[.%+-]+[^\W{_CJK}]+)*@{_DOMAIN}"),
        "[email]",
        None,
    ),
    (re.compile(rf"(?<![\w.%+-])[\w.%+-]+@{_DOMAIN}"), "[email]", None),
    # PRC resident ID: 17 digits and a digit or X, possibly grouped 6-8-4 or 6-4-4-4
    (
        re.compile(
            r"(?<!\d)\d{6}[ -]?(?:\d{8}|\d{4}[ -]?\d{4})[ -]?\d{3}(?:\d|[Xx](?![A-Za-z]))(?!\d)"
        ),
        "[id]",
        None,
    ),
    # legacy 15-digit resident ID (issued until 2004): region, YYMMDD, sequence; the date check
    # keeps 15-digit order numbers out
    (re.compile(rf"(?<!\d)[1-8]\d{{5}}[ -]?\d{{2}}{_MMDD}[ -]?\d{{3}}(?!\d)"), "[id]", None),
    # bank cards: 16-19 digits, bare or grouped (4-4-4-4, 6-13, 6-10 ...) by spaces or dashes;
    # shorter runs are order numbers, tracking numbers or +86 phones
    (re.compile(r"(?<!\d)\d{4,}(?:[ -]\d{3,})*(?:[ -]\d{1,2})?(?!\d)"), "[card]", _card_span),
    # mainland mobile numbers, optionally +86 or 0086, possibly grouped 3-4-4
    (
        re.compile(rf"(?<!\d)(?:(?:\+|00)?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)"),
        "[phone]",
        None,
    ),
    # other phone numbers written with a + country code and separators
    (
        re.compile(r"(?<![\w])\+\d{1,3}[ -]?\(?\d{1,4}\)?(?:[ -]?\d{2,4}){2,4}(?!\d)"),
        "[phone]",
        None,
    ),
    # mainland landlines with an area code: 010-12345678, (0755) 8888 8888, 0571 8765 4321
    (re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3})[ -]?\d{3,4}[ -]?\d{4}(?!\d)"), "[phone]", None),
    # North American numbers: (415) 555-2671, 415-555-2671, 1-415-555-2671
    (
        re.compile(r"(?<!\d)(?:1[ -])?(?:\(\d{3}\) ?|\d{3}[-.])\d{3}[-.]\d{4}(?!\d)"),
        "[phone]",
        None,
    ),
)
# Full-width forms (typed with a Chinese IME: digits, letters, ＋－＠．（）) are matched as their
# ASCII twins; the mapping is one character to one, so match positions hold in the original text.
_HALF_WIDTH = str.maketrans({**{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}, "\u3000": " "})
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_HAS_DIGIT_OR_AT = re.compile(r"[\d@＠]")


def mask_pii(text: str) -> str:
    """The text with personal identifiers replaced by [email], [id], [card] or [phone]."""
    if not text or _HAS_DIGIT_OR_AT.search(text) is None:
        return text
    probe = text.translate(_HALF_WIDTH) if _FULL_WIDTH.search(text) else text
    has_at = "@" in probe
    for pattern, replacement, span in _PATTERNS:
        if replacement == "[email]" and not has_at:
            continue
        kept: list[str] = []
        probed: list[str] = []
        last = 0
        for m in pattern.finditer(probe):
            end = m.end() if span is None else m.start() + span(m)
            if end == m.start():
                continue
            kept += (text[last : m.start()], replacement)
            probed += (probe[last : m.start()], replacement)
            last = end
        if last:
            text = "".join(kept) + text[last:]
            probe = "".join(probed) + probe[last:]
    return text
