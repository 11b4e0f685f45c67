"""The donations page's forms: a donation and a share of one, as typed, cleaned or refused.

Amounts are typed as people write them (Arabic-Indic digits, thousands commas, two decimals at
most) and kept in hundredths (`core.donations`). Each refused field gets a stable code: the
common ones are `core.fields`' (translated by `texts.forms`), the amounts' and dates' are
this module's (translated by the donations page).
"""

from __future__ import annotations

import re
from datetime import date

from core import fields
from core.clock import beirut_today
from core.digits import strip_marks, to_ascii_digits
from core.donations import (
    Currency,
    Donation,
    DonationDraft,
    DonationKind,
    DonorKind,
    Share,
)
from core.fields import FieldError, FormInput


class DonationInvalid(fields.FormRefused):
    """What was typed cannot be recorded (or allocated)."""


# --- amounts -------------------------------------------------------------------------------

MAX_IN_KIND = 10_000_000  # units of goods in one donation: a shipload of parcels
MAX_CASH = 1_000_000_000_000  # a trillion pounds: far above any single gift of 2020
MAX_DONOR = 120
MAX_WHAT = 200
MAX_UNIT = 40
MAX_NOTE = 300
FIRST_DAY = date(2020, 1, 1)  # the programme's circular is of 2020

NOT_AN_AMOUNT = "not_an_amount"  # not digits with at most two decimals
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"  # params: max
RECEIVED_IN_FUTURE = "received_in_future"
RECEIVED_TOO_EARLY = "received_too_early"

_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?")
_MAX_TYPED = 40  # characters: more is not an amount, and is not parsed


class _BadAmount(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_hundredths(typed: str, maximum: int) -> int:
    """A typed positive amount (Arabic digits, thousands commas, two decimals) x 100."""
    text = re.sub(r"\s+", "", to_ascii_digits(strip_marks(typed))).replace("٬", ",")
    text = text.replace("٫", ".")
    if not text:
        raise _BadAmount(fields.ErrorCode.REQUIRED)
    if len(text) > _MAX_TYPED:
        raise _BadAmount(AMOUNT_OUT_OF_RANGE)
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    match = _AMOUNT.fullmatch(text.removeprefix("-"))
    if match is None:
        raise _BadAmount(NOT_AN_AMOUNT)
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    value = int(whole) * 100 + int(cents) if len(whole) <= 15 else -1
    if text.startswith("-") or not 0 < value <= maximum * 100:
        raise _BadAmount(AMOUNT_OUT_OF_RANGE)
    return value


def _amount_error(name: str, code: str, maximum: int) -> FieldError:
    params = {"max": maximum} if code == AMOUNT_OUT_OF_RANGE else {}
    return FieldError(name, code, params)


_COMMON: dict[str, fields.Cleaner] = {
    "kind": fields.choice(tuple(DonationKind)),
    "donor_kind": fields.choice(tuple(DonorKind)),
    "donor_name": fields.optional(fields.text(MAX_DONOR)),
    "received_on": fields.day,
}
_IN_KIND: dict[str, fields.Cleaner] = {
    "what": fields.text(MAX_WHAT),
    "unit": fields.text(MAX_UNIT),
}
_CASH: dict[str, fields.Cleaner] = {"currency": fields.choice(tuple(Currency))}


def _context() -> fields.Context:
    return fields.Context(beirut_today(), locality_exists=lambda _code: False)


def clean_donation(form: FormInput) -> DonationDraft:
    """The posted form as a draft, or `DonationInvalid` listing every refused field."""
    data, errors = fields.clean_fields(_COMMON, form, _context())
    kind = DonationKind(data["kind"]) if "kind" in data else None
    more, more_errors = fields.clean_fields(
        _CASH if kind is DonationKind.CASH else _IN_KIND, form, _context()
    )
    errors += more_errors
    maximum = MAX_CASH if kind is DonationKind.CASH else MAX_IN_KIND
    hundredths = _amount(form, "quantity", maximum, errors)
    donor_kind = DonorKind(data["donor_kind"]) if "donor_kind" in data else None
    named = donor_kind not in (None, DonorKind.ANONYMOUS)
    if named and "donor_name" in data and not data["donor_name"]:
        errors.append(FieldError("donor_name", fields.ErrorCode.REQUIRED))
    errors += _received_errors(data.get("received_on"))
    if errors or kind is None or donor_kind is None:
        raise DonationInvalid(errors)
    return DonationDraft(
        kind=kind,
        donor_kind=donor_kind,
        donor_name=data["donor_name"] if named else None,  # anonymous: no name is kept
        what=more["currency"] if kind is DonationKind.CASH else more["what"],
        unit="" if kind is DonationKind.CASH else more["unit"],
        hundredths=hundredths,
        received_on=date.fromisoformat(data["received_on"]),
    )


def _amount(form: FormInput, name: str, maximum: int, errors: list[FieldError]) -> int:
    """The field's amount in hundredths; 0 (and an error appended) when refused."""
    try:
        return parse_hundredths("".join(fields.posted(form, name)[:1]), maximum)
    except _BadAmount as bad:
        errors.append(_amount_error(name, bad.code, maximum))
        return 0


def _received_errors(received: str | None) -> list[FieldError]:
    """A donation is recorded once received: not a day ahead of Beirut's today, nor pre-2020."""
    if received is None:
        return []
    day = date.fromisoformat(received)
    if day > beirut_today():
        return [FieldError("received_on", RECEIVED_IN_FUTURE)]
    if day < FIRST_DAY:
        return [FieldError("received_on", RECEIVED_TOO_EARLY)]
    return []


def clean_share(form: FormInput, donation: Donation) -> Share:
    """The posted share of `donation`, or `DonationInvalid` (a quantity above what is left is
    `core.donations.allocate`'s to refuse: only the store knows it at the moment of taking)."""
    maximum = MAX_CASH if donation.kind == DonationKind.CASH else MAX_IN_KIND
    note_cleaner = {"note": fields.optional(fields.text(MAX_NOTE))}
    data, errors = fields.clean_fields(note_cleaner, form, _context())
    hundredths = _amount(form, "quantity", maximum, errors)
    if errors:
        raise DonationInvalid(errors)
    return Share(hundredths, data["note"] or "")
