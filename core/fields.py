"""Cleaning posted form fields: text, choices, dates, digits, numbers, phones, localities, ticks.

Cleaning turns what a browser posts into JSON-ready data (ISO dates, ints, bools, option values)
and a list of errors with stable codes, which the adapters translate. Nothing here raises on what
a citizen types, however hostile. Nothing here knows which form a field belongs to:
`core.household` names the household form's fields and picks a cleaner for each.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from core.digits import strip_marks, to_ascii_digits
from core.geography import AreaLevel, level_of
from core.phones import NotLebaneseMobile, normalise_mobile

FormInput = Mapping[str, Sequence[str]]  # name -> posted values (request.form.to_dict(flat=False))


class ErrorCode(StrEnum):
    """Why a field was refused; texts.forms has a sentence for each."""

    REQUIRED = "required"  # a starred field is empty
    TOO_LONG = "too_long"  # params: max
    INVALID_CHARACTERS = "invalid_characters"  # control characters or < > in a text
    INVALID_CHOICE = "invalid_choice"  # not one of the field's options
    INVALID_DATE = "invalid_date"  # not a real date written YYYY-MM-DD
    DATE_IN_FUTURE = "date_in_future"  # a birth date after today
    AGE_OUT_OF_RANGE = "age_out_of_range"  # params: min, max
    INVALID_DIGITS = "invalid_digits"  # params: min, max (a count of digits)
    NOT_MOBILE = "not_mobile"  # not a Lebanese mobile number
    SAME_PHONE = "same_phone"  # the second mobile is the first one again
    UNKNOWN_LOCALITY = "unknown_locality"  # no locality has this code
    NOT_A_NUMBER = "not_a_number"  # not a whole number
    OUT_OF_RANGE = "out_of_range"  # params: min, max
    NONE_WITH_OTHERS = "none_with_others"  # "none" ticked together with another option
    MUST_ACCEPT = "must_accept"  # the declaration is not ticked
    TOO_MANY_MEMBERS = "too_many_members"  # params: max
    REQUIRED_FROM_AGE = "required_from_age"  # params: age


@dataclass(frozen=True)
class FieldError:
    """One refused field: its HTML name, a stable code, and the numbers the message needs."""

    field: str
    code: str
    params: Mapping[str, int | str] = dataclasses.field(default_factory=dict)


class FormRefused(ValueError):
    """A form refused as a whole; `errors` has one entry per refused field.

    Codes, not words: the adapter translates each (e.g. with `texts.forms.error_text`).
    """

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


# --- cleaning one field --------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a cleaner may need besides the posted values: today's date, the known localities."""

    today: date
    locality_exists: Callable[[str], bool]


class _Invalid(Exception):
    def __init__(self, code: ErrorCode, **params: int | str) -> None:
        super().__init__(code)
        self.code, self.params = code, params


Cleaner = Callable[[list[str], Context], Any]

# Tab and newlines are folded to spaces (a pasted address has them); other controls, lone
# surrogates and angle brackets are refused: no name or address needs them, and refusing them
# keeps markup out of every screen and export the data later reaches.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff<>]")
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s-]+")
_DIGITS = re.compile(r"[0-9]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_INTEGER = re.compile(r"-?[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[,.'٬][0-9]{3})+")  # 1,500,000 · 1.500.000 · ١٬٥٠٠٬٠٠٠
_TRUE = frozenset({"1", "on", "yes", "true"})
UNTICKED = frozenset({"", "0", "off", "no", "false"})  # what an unticked checkbox may post


def posted(form: FormInput, name: str) -> list[str]:
    """The values posted under `name`, as a list even where the form holds a plain string."""
    raw = form.get(name, ())
    return [raw] if isinstance(raw, str) else list(raw)


def _single(values: list[str]) -> str:
    """The first value (as Flask's `form.get` reads it), without direction marks or edges."""
    return strip_marks(values[0]).strip() if values else ""


def _required(value: str) -> str:
    if not value:
        raise _Invalid(ErrorCode.REQUIRED)
    return value


def optional(clean: Cleaner) -> Cleaner:
    """The same field, but None when left empty."""

    def optional(values: list[str], ctx: Context) -> Any:
        return clean(values, ctx) if _single(values) else None

    return optional


def _plain(max_len: int, fold: Callable[[str], str]) -> Cleaner:
    """Text without markup or controls, its spaces folded by `fold`, at most `max_len` long."""

    def plain(values: list[str], ctx: Context) -> str:
        value = _required(_single(values))
        if _REFUSED.search(value):
            raise _Invalid(ErrorCode.INVALID_CHARACTERS)
        value = unicodedata.normalize("NFC", fold(value))
        if len(value) > max_len:
            raise _Invalid(ErrorCode.TOO_LONG, max=max_len)
        return value

    return plain


def _one_line(value: str) -> str:
    return _SPACES.sub(" ", value)


def _lines(value: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def text(max_len: int) -> Cleaner:
    return _plain(max_len, _one_line)


def paragraphs(max_len: int) -> Cleaner:
    """Like `text`, but the line breaks between paragraphs stay (a decision's text, needs)."""
    return _plain(max_len, _lines)


def choice(options: tuple[str, ...]) -> Cleaner:
    def choice(values: list[str], ctx: Context) -> str:
        value = _required(_single(values))
        if value not in options:
            raise _Invalid(ErrorCode.INVALID_CHOICE)
        return value

    return choice


def multi_choice(options: tuple[str, ...], *, required: bool) -> Cleaner:
    """Repeated values: deduplicated, in the options' order; `none` stands alone."""

    def multi_choice(values: list[str], ctx: Context) -> list[str]:
        chosen = {strip_marks(v).strip() for v in values} - {""}
        if required and not chosen:
            raise _Invalid(ErrorCode.REQUIRED)
        if not chosen <= set(options):
            raise _Invalid(ErrorCode.INVALID_CHOICE)
        if "none" in chosen and len(chosen) > 1:
            raise _Invalid(ErrorCode.NONE_WITH_OTHERS)
        return [option for option in options if option in chosen]

    return multi_choice


def _date(values: list[str]) -> date:
    match = _ISO_DATE.fullmatch(to_ascii_digits(_required(_single(values))))
    if match:
        with suppress(ValueError):  # 2021-02-30 has the shape of a date, not the substance
            return date(*map(int, match.groups()))
    raise _Invalid(ErrorCode.INVALID_DATE)


def day(values: list[str], ctx: Context) -> str:
    """Any real date, written YYYY-MM-DD (what a date input posts)."""
    return _date(values).isoformat()


def age_on(born: date, today: date) -> int:
    """Whole years completed on `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def birth_date(min_age: int, max_age: int) -> Cleaner:
    def birth_date(values: list[str], ctx: Context) -> str:
        born = _date(values)
        if born > ctx.today:
            raise _Invalid(ErrorCode.DATE_IN_FUTURE)
        if not min_age <= age_on(born, ctx.today) <= max_age:
            raise _Invalid(ErrorCode.AGE_OUT_OF_RANGE, min=min_age, max=max_age)
        return born.isoformat()

    return birth_date


def digits(min_len: int, max_len: int) -> Cleaner:
    """An identifier typed in digits (spaces and hyphens allowed); leading zeros are kept."""

    def digits(values: list[str], ctx: Context) -> str:
        value = _SEPARATORS.sub("", to_ascii_digits(_required(_single(values))))
        if not (_DIGITS.fullmatch(value) and min_len <= len(value) <= max_len):
            raise _Invalid(ErrorCode.INVALID_DIGITS, min=min_len, max=max_len)
        return value

    return digits


def _whole_number(typed: str) -> str:
    """A typed whole number without its spaces and thousands separators."""
    value = _SPACES.sub("", to_ascii_digits(typed))
    if _GROUPED.fullmatch(value):
        value = re.sub(r"[,.'٬]", "", value)
    if not _INTEGER.fullmatch(value):
        raise _Invalid(ErrorCode.NOT_A_NUMBER)
    return value


def number(low: int, high: int) -> Cleaner:
    def number(values: list[str], ctx: Context) -> int:
        value = _whole_number(_required(_single(values)))
        # Compare lengths first: int() of thousands of digits is slow, and refused above 4300.
        if len(value.lstrip("-0")) > len(str(high)) or not low <= int(value) <= high:
            raise _Invalid(ErrorCode.OUT_OF_RANGE, min=low, max=high)
        return int(value)

    return number


def phone(values: list[str], ctx: Context) -> str:
    try:
        return normalise_mobile(_required(_single(values)))
    except NotLebaneseMobile:
        raise _Invalid(ErrorCode.NOT_MOBILE) from None


def locality(values: list[str], ctx: Context) -> str:
    code = to_ascii_digits(_required(_single(values)))
    # The shape check first: a posted megabyte never reaches the store.
    if level_of(code) is not AreaLevel.LOCALITY or not ctx.locality_exists(code):
        raise _Invalid(ErrorCode.UNKNOWN_LOCALITY)
    return code


def boolean(values: list[str], ctx: Context) -> bool:
    """A checkbox: ticked if any value is a yes (a hidden "0" may come before it)."""
    answers = {v.strip().lower() for v in values}
    if answers & _TRUE:
        return True
    if answers <= UNTICKED:
        return False
    raise _Invalid(ErrorCode.INVALID_CHOICE)


def accepted(values: list[str], ctx: Context) -> bool:
    try:
        if boolean(values, ctx):
            return True
    except _Invalid:
        pass
    raise _Invalid(ErrorCode.MUST_ACCEPT)


def ignored(values: list[str], ctx: Context) -> None:
    return None


# --- cleaning a page of fields -------------------------------------------------------------

PageResult = tuple[dict[str, Any], list[FieldError]]


def clean_fields(
    fields: Mapping[str, Cleaner], form: FormInput, ctx: Context, prefix: str = ""
) -> PageResult:
    """Each field through its cleaner; a refused field is left out of the data."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, clean in fields.items():
        try:
            data[name] = clean(posted(form, prefix + name), ctx)
        except _Invalid as refused:
            errors.append(FieldError(prefix + name, refused.code, refused.params))
    return data, errors
