"""What makes a staff password too easy to guess, whoever sets it (CLI, demo, a console page).

Length alone let `aaaaaaaaaaaa` through. A password is refused when it is one of the
passwords attackers try first: those in a list of common passwords (the 30,000 of the
`zxcvbn` package, MIT licence, drawn from leaked password sets), compared without case and
also with the digits and symbols typed after it removed (`password2020!`); those made of one
short piece repeated (`aaaaaaaaaaaa`, `abcabcabcabc`); and those containing the username.
Generated passwords (`users import`, `demo`) are random and pass.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\W\d_]+$")
_REPEATED_PIECE = re.compile(r"(.{1,4})\1+", re.DOTALL)


class PasswordProblem(StrEnum):
    """Why a password was refused (adapters word it in the user's language)."""

    TOO_SHORT = "too_short"  # shorter than the minimum
    TOO_LONG = "too_long"  # longer than anyone types
    REPEATED = "repeated"  # one short piece over and over
    HAS_USERNAME = "has_username"  # contains the account's own name
    COMMON = "common"  # in the list of common passwords


MESSAGES = {
    PasswordProblem.TOO_SHORT: "password must be at least {min} characters",
    PasswordProblem.TOO_LONG: "password must be at most {max} characters",
    PasswordProblem.REPEATED: "password must not be one character or a short group repeated",
    PasswordProblem.HAS_USERNAME: "password must not contain the username",
    PasswordProblem.COMMON: "password is one of the most common passwords; choose another",
}


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def problem(password: str, username: str, shortest: int, longest: int) -> PasswordProblem | None:
    """The first rule `password` breaks for the account `username`, or None."""
    if len(password) < shortest:
        return PasswordProblem.TOO_SHORT
    if len(password) > longest:
        return PasswordProblem.TOO_LONG
    folded = password.casefold()
    if _REPEATED_PIECE.fullmatch(folded):
        return PasswordProblem.REPEATED
    name = username.strip().casefold()
    if name and name in folded:
        return PasswordProblem.HAS_USERNAME
    stem = _TRAILING_DIGITS_AND_SYMBOLS.sub("", folded)
    if folded in _common() or stem in _common():
        return PasswordProblem.COMMON
    return None
