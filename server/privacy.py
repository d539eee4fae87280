"""Masks personal data (phones, ID-card and bank-card numbers, e-mail) in free text before storing."""

from __future__ import annotations

import re

_PATTERNS = (
    # e-mail first: its digits must not be taken for a phone number
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # PRC resident ID: 17 digits and a digit or X
    (re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])"), "[id]"),
    # bank cards: 16-19 digits, possibly grouped by spaces or dashes
    (re.compile(r"(?<!\d)\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?(?!\d)"), "[card]"),
    # mainland mobile numbers, optionally +86, possibly grouped 3-4-4
    (re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"), "[phone]"),
    # other phone numbers written with a + country code or area code and separators
    (re.compile(r"(?<![\w])\+\d{1,3}[ -]?\(?\d{1,4}\)?(?:[ -]?\d{2,4}){2,4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"), "[phone]"),
)
_HAS_DIGIT_OR_AT = re.compile(r"[\d@]")


def mask_pii(text: str) -> str:
    """The text with personal identifiers replaced by [email], [id], [card] or [phone]."""
    if not text or _HAS_DIGIT_OR_AT.search(text) is None:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
