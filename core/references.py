"""The application reference: ten digits a citizen reads aloud to 1766 or types in an SMS.

Nine random digits and a Verhoeff check digit, which catches every single wrong digit and
every swap of two neighbouring digits: the usual slips when a number is read over a phone.
The first digit is never 0, so the reference keeps all ten digits in a spreadsheet cell.
"""

from __future__ import annotations

import re
import secrets

from core.digits import to_ascii_digits

LENGTH = 10
_SEPARATORS = re.compile(r"[\s-]+")
_DIGITS = re.compile(r"[0-9]+")
_MAX_INPUT = 64  # a reference with generous spacing fits; anything longer is not one

# Verhoeff's tables: the dihedral group D5, a position permutation, and the inverses.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _plain(text: str) -> str:
    """Typed digits in any script, without spaces, hyphens or direction marks."""
    return _SEPARATORS.sub("", to_ascii_digits(text))


def _checksum(digits: str, offset: int) -> int:
    """Verhoeff's running value; offset 1 leaves room for a check digit still to append."""
    c = 0
    for i, digit in enumerate(reversed(digits)):
        c = _D[c][_P[(i + offset) % 8][int(digit)]]
    return c


def check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to `digits` (raises ValueError if not digits)."""
    plain = _plain(digits)
    if not _DIGITS.fullmatch(plain):
        raise ValueError("a check digit is computed over digits only")
    return str(_INV[_checksum(plain, 1)])


def is_valid(reference: str) -> bool:
    """Whether the last digit is the Verhoeff check digit of the others."""
    if len(reference) > _MAX_INPUT:
        return False
    plain = _plain(reference)
    return len(plain) >= 2 and bool(_DIGITS.fullmatch(plain)) and _checksum(plain, 0) == 0


def new_reference() -> str:
    """Nine unpredictable digits, the first not 0, and their check digit."""
    body = str(secrets.randbelow(9 * 10 ** (LENGTH - 2)) + 10 ** (LENGTH - 2))
    return body + check_digit(body)


def grouped(reference: str) -> str:
    """`123 456 7890`: three short groups, easier to read aloud and to copy."""
    plain = _plain(reference)
    if len(plain) != LENGTH or not _DIGITS.fullmatch(plain):
        raise ValueError("a reference has ten digits")
    return f"{plain[:3]} {plain[3:6]} {plain[6:]}"


def grouped_ticket(number: str) -> str:
    """`1234 5678`: a ticket's eight digits as they are said and written to the citizen."""
    return f"{number[:4]} {number[4:]}"


def parse_reference(text: str) -> str | None:
    """The ten plain digits of a typed reference, or None if it is not a valid one."""
    if len(text) > _MAX_INPUT:
        return None
    plain = _plain(text)
    if len(plain) != LENGTH or not is_valid(plain):
        return None
    return plain
