"""Masks personal data (phones, ID-card and bank-card numbers, e-mail) in free text before storing."""

from __future__ import annotations

import re

_PATTERNS = (
    # e-mail first: its digits must not be taken for a phone number
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # PRC resident ID: 17 digits and a digit or X, possibly grouped 6-8-4
    (re.compile(r"(?<!\d)\d{6}[ -]?\d{8}[ -]?\d{3}[\dXx](?![\dA-Za-z])"), "[id]"),
    # bank cards: 16-19 digits, possibly grouped by spaces or dashes; shorter runs are order
    # numbers, tracking numbers or +86 phones
    (re.compile(r"(?<!\d)\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?!\d)"), "[card]"),
    # mainland mobile numbers, optionally +86 or 0086, possibly grouped 3-4-4
    (re.compile(r"(?<!\d)(?:(?:\+|00)?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"), "[phone]"),
    # other phone numbers written with a + country code and separators
    (re.compile(r"(?<![\w])\+\d{1,3}[ -]?\(?\d{1,4}\)?(?:[ -]?\d{2,4}){2,4}(?!\d)"), "[phone]"),
    # mainland landlines with an area code: 010-12345678, (0755) 8888 8888, 0571 8765 4321
    (re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3})[ -]?\d{3,4}[ -]?\d{4}(?!\d)"), "[phone]"),
    # North American numbers: (415) 555-2671, 415-555-2671, 1-415-555-2671
    (re.compile(r"(?<!\d)(?:1[ -])?(?:\(\d{3}\) ?|\d{3}[-.])\d{3}[-.]\d{4}(?!\d)"), "[phone]"),
)
# Full-width digits and signs (typed with a Chinese IME) are matched as their ASCII twins; the
# mapping is one character to one, so match positions hold in the original text.
_HALF_WIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "＋": "+", "－": "-", "＠": "@",
     "（": "(", "）": ")", "\u3000": " ", "．": "."}
)  # fmt: skip
_HAS_DIGIT_OR_AT = re.compile(r"[\d@＠]")


def mask_pii(text: str) -> str:
    """The text with personal identifiers replaced by [email], [id], [card] or [phone]."""
    if not text or _HAS_DIGIT_OR_AT.search(text) is None:
        return text
    probe = text.translate(_HALF_WIDTH)
    if probe == text:
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text
    for pattern, replacement in _PATTERNS:
        kept, probed, last = [], [], 0
        for m in pattern.finditer(probe):
            kept += (text[last : m.start()], replacement)
            probed += (probe[last : m.start()], replacement)
            last = m.end()
        if last:
            text = "".join(kept) + text[last:]
            probe = "".join(probed) + probe[last:]
    return text
