"""How many SMS segments a text costs, counted the way carriers bill it (3GPP TS 23.038).

One character outside the GSM 03.38 alphabet turns the whole message into UCS-2, which holds
less than half as much per segment; an Arabic message is always UCS-2. Invisible characters
that Babel puts into formatted numbers (bidi marks, no-break spaces) are not in the GSM
alphabet either: `strip_invisibles` removes them before a text is stored and sent, or a French
message silently doubles its cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Encoding(StrEnum):
    """The two encodings a carrier can bill an SMS in."""

    GSM7 = "GSM-7"  # 7-bit GSM 03.38 default alphabet (+ extension table): 160 / 153 per part
    UCS2 = "UCS-2"  # 16-bit units (UTF-16 in practice): 70 / 67 per part


# GSM 03.38 default alphabet, in table order; 0x1B (the escape to the extension table) is left
# out because it cannot be written as text. Note what is absent: ç (only Ç is there), and
# â ê î ô û ë ï, È, À — the French letters that push a message into UCS-2.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (the escape and the character).
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

# Capacity of one message alone, and of each part of a concatenated one (the user data header
# takes 6 octets of every part).
_CAPACITY = {
    Encoding.GSM7: (160, 153),  # septets
    Encoding.UCS2: (70, 67),  # UTF-16 code units
}

# Bidi controls: LRM, RLM, ALM, LRE..RLO, LRI..PDI. Babel wraps Arabic numbers in them.
_BIDI_MARKS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# NBSP and narrow NBSP: Babel's French grouping and percent spacing.
_NO_BREAK_SPACES = "\u00a0\u202f"
_INVISIBLES = str.maketrans({**dict.fromkeys(_BIDI_MARKS), **dict.fromkeys(_NO_BREAK_SPACES, " ")})


def strip_invisibles(text: str) -> str:
    """Drop bidi marks and make no-break spaces plain, so formatting cannot change the encoding."""
    return text.translate(_INVISIBLES)


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM alphabet or its extension, else UCS-2."""
    if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text):
        return Encoding.GSM7
    return Encoding.UCS2


def segments(text: str) -> tuple[str, int]:
    """The encoding a carrier will use for `text` and how many segments it will bill.

    An empty text still costs one segment.
    """
    encoding = encoding_of(text)
    costs = _gsm_costs(text) if encoding is Encoding.GSM7 else _utf16_costs(text)
    single, per_part = _CAPACITY[encoding]
    return encoding.value, _count_parts(list(costs), single, per_part)


def _gsm_costs(text: str) -> Iterable[int]:
    return (2 if char in GSM_EXTENSION else 1 for char in text)


def _utf16_costs(text: str) -> Iterable[int]:
    # Outside the Basic Multilingual Plane (most emoji) a character is a surrogate pair.
    return (2 if ord(char) > 0xFFFF else 1 for char in text)


def _count_parts(costs: list[int], single: int, per_part: int) -> int:
    """Pack characters into parts; an escape sequence or surrogate pair is never split."""
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts
