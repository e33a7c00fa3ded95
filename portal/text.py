"""The one rule for short texts people type: names, titles, organisations.

Such a text is one line of visible characters. Control characters, and the invisible
format characters — bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069),
zero-width spaces and joiners, direction marks (U+200B–U+200F, U+061C), the word joiner
(U+2060), the byte order mark (U+FEFF) — are refused with a message rather than stored:
a zero-width space makes two different names that look the same, an override shows a name
reversed on the honour list. Refused, not stripped, so that what is stored is what was
typed, and whoever typed it learns why.
"""

from __future__ import annotations

import unicodedata

__all__ = ["hidden_characters", "line_error"]

# Control, format (bidi, zero-width, BOM…), line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def hidden_characters(text: str) -> list[str]:
    """The distinct invisible characters of ``text``, in order, as code points (“U+202E”)."""
    found: list[str] = []
    for ch in text:
        if unicodedata.category(ch) in _HIDDEN_CATEGORIES:
            code = f"U+{ord(ch):04X}"
            if code not in found:
                found.append(code)
    return found


def line_error(label: str, text: str) -> str | None:
    """The message refusing a one-line text (a name, title or organisation) that holds
    invisible characters, or None when it holds none."""
    found = hidden_characters(text)
    if not found:
        return None
    return f"{label}含有不可见字符（{'、'.join(found[:3])}），多由复制粘贴带入，请删除后重新输入。"


def mask_phone(value: str | None) -> str:
    """A phone number as lists and pages show it to those who need not see it whole:
    the first three and the last four characters (138****1234)."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) < 8:
        return "****"
    return f"{text[:3]}****{text[-4:]}"
