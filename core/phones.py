"""Lebanese mobile numbers, typed in any form, normalised to E.164 with `phonenumbers`.

Mobile ranges are not whole prefixes (76x, 78x, 79x are partly mobile), so the library's
number type decides, never a list of prefixes.
"""

from __future__ import annotations

from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from core.digits import to_ascii_digits

REGION = "LB"
MAX_INPUT = 40
_MOBILE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


class PhoneProblem(StrEnum):
    """Why a typed number cannot receive an SMS from the programme."""

    INVALID = "invalid"  # not a phone number at all
    FOREIGN = "foreign"  # a valid number outside Lebanon
    NOT_MOBILE = "not_mobile"  # a Lebanese landline


class NotLebaneseMobile(ValueError):
    """The number cannot be used; `problem` says why (adapters translate it)."""

    def __init__(self, problem: PhoneProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def normalise_mobile(text: str) -> str:
    """`03 123 456`, `+961 3 123456`, `0096176123456`, Arabic-Indic digits → `+9613123456`."""
    raw = to_ascii_digits(text or "").strip()
    if not raw or len(raw) > MAX_INPUT:
        raise NotLebaneseMobile(PhoneProblem.INVALID)
    try:
        number = phonenumbers.parse(raw, REGION)
    except NumberParseException:
        raise NotLebaneseMobile(PhoneProblem.INVALID) from None
    if not phonenumbers.is_valid_number(number):
        raise NotLebaneseMobile(PhoneProblem.INVALID)
    if phonenumbers.region_code_for_number(number) != REGION:
        raise NotLebaneseMobile(PhoneProblem.FOREIGN)
    if phonenumbers.number_type(number) not in _MOBILE:
        raise NotLebaneseMobile(PhoneProblem.NOT_MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_desk_phone(text: str) -> str:
    """A Lebanese number an agent answers on (a desk line or a mobile), in E.164."""
    try:
        return normalise_mobile(text)
    except NotLebaneseMobile as problem:
        if problem.problem is not PhoneProblem.NOT_MOBILE:
            raise
    number = phonenumbers.parse(to_ascii_digits(text).strip(), REGION)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """`+961 3 ••• 456`-style: enough for a focal point to recognise, not to copy."""
    return f"{e164[:5]}•••{e164[-3:]}" if len(e164) > 8 else "•••"
