"""One spelling per report tag: the single normaliser every tag goes through (reports, rules,
owners), so 支付失败, 支付失敗 and "支付 失败" are one tag."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

_SPACES = re.compile(r"\s+")
# a space between two CJK characters separates nothing ("支付 失败"); one next to a Latin
# word stays ("app 崩溃")
_CJK = (
    r"\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_converter: Any = None
_lock = threading.Lock()


def _t2s(text: str) -> str:
    """Traditional -> simplified with OpenCC's t2s tables (opencc-python-reimplemented)."""
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                from opencc import OpenCC  # slow to import; loaded on the first tag

                _converter = OpenCC("t2s")
    return _converter.convert(text)


@lru_cache(maxsize=4096)
def normalize_tag(tag: str) -> str:
    """NFKC, case-folded, traditional characters made simplified, whitespace collapsed to one
    space and removed between two CJK characters, ends trimmed."""
    text = unicodedata.normalize("NFKC", tag).casefold()
    if any("\u2e80" <= ch <= "\ufaff" for ch in text):
        text = _t2s(text)
    text = _SPACES.sub(" ", text).strip()
    return _CJK_SPACE.sub("", text)
