"""The household form laid out for paper: each page's fields, what answer each takes, and
whether it is required, read off the form's own definition.

A focal point prints a blank form for a family with no phone, then types the filled paper in
through assisted entry. The paper must ask exactly what the screen asks, so nothing here lists
fields by hand: the pages and field names come from `core.household`, and what each field takes
is found by asking its cleaner (through `clean_page_in`) what it makes of an empty answer and of
a clearly wrong one. A field added to the dictionary appears on paper by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any

from core.fields import Context, ErrorCode, FieldError
from core.household import (
    FIELD_OPTIONS,
    MAX_MEMBERS,
    MEMBER_FIELDS,
    OPTIONS,
    PAGE_FIELDS,
    PAGES,
    clean_page_in,
)

MEMBERS = "members"  # the family page's one entry: a table of members, not a field
_WRONG = "x"  # no date, number, phone, locality or option: what each cleaner refuses, and why
_LONG = "x" * 10_000  # longer than any text field: its cleaner tells the limit
# Any fixed day will do: no probe here depends on today, and none may depend on the clock.
_PROBE_CONTEXT = Context(date(2020, 1, 1), lambda code: False)


class Kind(StrEnum):
    """What a field takes, as the paper asks for it."""

    TEXT = "text"  # words, in a box
    NUMBER = "number"  # a whole number
    DIGITS = "digits"  # an identifier: one box per digit
    DATE = "date"  # a date, written YYYY-MM-DD
    PHONE = "phone"  # a Lebanese mobile number
    LOCALITY = "locality"  # a locality's name (the focal point looks its code up)
    CHOICE = "choice"  # exactly one of the options
    CHOICES = "choices"  # any of the options
    TICK = "tick"  # yes when ticked
    DECLARATION = "declaration"  # must be ticked for the form to be sent


_BY_ERROR: dict[str, Kind] = {
    ErrorCode.INVALID_DATE: Kind.DATE,
    ErrorCode.NOT_A_NUMBER: Kind.NUMBER,
    ErrorCode.INVALID_DIGITS: Kind.DIGITS,
    ErrorCode.NOT_MOBILE: Kind.PHONE,
    ErrorCode.UNKNOWN_LOCALITY: Kind.LOCALITY,
}


@dataclass(frozen=True)
class FieldOutline:
    """One field on paper: its name (the label's key), kind, options and size."""

    name: str
    kind: Kind
    required: bool
    options_key: str = ""  # which option list (texts.forms.OPTIONS) a choice draws from
    options: tuple[str, ...] = ()
    size: int = 0  # a text's or an identifier's longest length (0: unknown)


@dataclass(frozen=True)
class PageOutline:
    """One page of the form; the family page has a members table instead of fields."""

    name: str
    fields: tuple[FieldOutline, ...]
    members: tuple[FieldOutline, ...] = ()
    member_rows: int = 0


@cache
def outline() -> tuple[PageOutline, ...]:
    """The form's pages in order, each with its fields in the dictionary's order."""
    return tuple(_page(page) for page in PAGES)


def _page(page: str) -> PageOutline:
    names = PAGE_FIELDS[page]
    if MEMBERS not in names:
        return PageOutline(page, tuple(_Probe(page, "").field(name) for name in names))
    members = _Probe(page, f"{MEMBERS}-0-")
    return PageOutline(
        page,
        tuple(_Probe(page, "").field(name) for name in names if name != MEMBERS),
        members=tuple(members.field(name) for name in MEMBER_FIELDS),
        member_rows=MAX_MEMBERS,
    )


@dataclass(frozen=True)
class _Probe:
    """Asks one page's cleaner about one field (a member's fields under their prefix)."""

    page: str
    prefix: str

    def field(self, name: str) -> FieldOutline:
        empty_value, empty_error = self._answer(name, [])
        if empty_error == ErrorCode.MUST_ACCEPT:
            return FieldOutline(name, Kind.DECLARATION, required=True)
        if empty_value is False:
            return FieldOutline(name, Kind.TICK, required=False)
        required = empty_error == ErrorCode.REQUIRED
        if name in FIELD_OPTIONS:
            return self._choice(name, required)
        _value, wrong = self._answer(name, [_WRONG])
        if wrong in _BY_ERROR:
            return FieldOutline(name, _BY_ERROR[wrong], required, size=self._longest(name, wrong))
        return FieldOutline(name, Kind.TEXT, required, size=self._longest(name, None))

    def _choice(self, name: str, required: bool) -> FieldOutline:
        key = FIELD_OPTIONS[name]
        options = OPTIONS[key]
        # Several choices come back as a list, even when only one is ticked.
        kept, _error = self._answer(name, [options[0]])
        kind = Kind.CHOICES if isinstance(kept, list) else Kind.CHOICE
        return FieldOutline(name, kind, required, options_key=key, options=options)

    def _longest(self, name: str, wrong: str | None) -> int:
        """A text's limit (from a too-long answer) or an identifier's most digits."""
        if wrong == ErrorCode.INVALID_DIGITS:
            error = self._error(name, [_WRONG])
        elif wrong is None:
            error = self._error(name, [_LONG])
        else:
            return 0
        return int((error.params if error else {}).get("max", 0))

    def _answer(self, name: str, values: list[str]) -> tuple[Any, str | None]:
        """What the cleaner kept for `name` given `values`, and the code it refused it with."""
        data, errors = clean_page_in(self.page, self._form(name, values), _PROBE_CONTEXT)
        error = _named(errors, self.prefix + name)
        if self.prefix:
            members = data.get(MEMBERS) or [{}]
            return members[0].get(name), error.code if error else None
        return data.get(name), error.code if error else None

    def _error(self, name: str, values: list[str]) -> FieldError | None:
        _data, errors = clean_page_in(self.page, self._form(name, values), _PROBE_CONTEXT)
        return _named(errors, self.prefix + name)

    def _form(self, name: str, values: list[str]) -> Mapping[str, list[str]]:
        """`values` for the field alone; a member's other fields filled, so the member counts."""
        form = {self.prefix + name: values}
        if self.prefix:
            others = (other for other in MEMBER_FIELDS if other != name)
            form |= {self.prefix + other: [_WRONG] for other in others}
        return form


def _named(errors: list[FieldError], field: str) -> FieldError | None:
    return next((error for error in errors if error.field == field), None)
