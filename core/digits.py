"""Digits as citizens type them: Arabic-Indic or Persian on Arabic keyboards, ASCII elsewhere.

Phones with an Arabic keyboard send ٠-٩ (U+0660) or ۰-۹ (U+06F0), and copy-pasted numbers
carry invisible direction marks and no-break spaces; all of these mean the same digits.
"""

from __future__ import annotations

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
# LRM, RLM, the Arabic letter mark, the embeddings and overrides, the isolates.
BIDI_MARKS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
NO_BREAK_SPACES = "\u00a0\u202f"

_MARKS = {ord(mark): None for mark in BIDI_MARKS} | {ord(s): " " for s in NO_BREAK_SPACES}
_DIGITS = {ord(d): str(i) for i, d in enumerate(ARABIC_INDIC)} | {
    ord(d): str(i) for i, d in enumerate(PERSIAN)
}
_TO_ASCII = _MARKS | _DIGITS


def strip_marks(text: str) -> str:
    """Drop bidi marks and turn no-break spaces into plain spaces; leave every digit as typed."""
    return text.translate(_MARKS)


def to_ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits to ASCII, without bidi marks or no-break spaces."""
    return text.translate(_TO_ASCII)
