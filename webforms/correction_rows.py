"""The rows of the citizen's correction page: what was typed, read back as the form's values.

A cheap phone has no JavaScript, so the correct value is one text box whatever the field:
option words ("Married", "متأهل"), yes and no, and town names are turned here into the codes
the household form stores; `core.correction_changes` then checks them with the form's own rules.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import fields
from core.correction_changes import MAX_REASON, Change, CorrectionError, field_page
from core.fields import Context, ErrorCode, FieldError, clean_fields
from core.geography import Locality
from core.household import FIELD_OPTIONS
from texts import corrections as correction_text
from texts import forms as form_text
from web import store
from web.i18n import NAMES
from webforms.localities import fold, matching_localities

MAX_ROWS = 5  # what a citizen corrects at once; more goes through 1766
MAX_VALUE = 200  # the longest field of the form (the address)
LOCALITY_FIELDS = frozenset({"registry_place", "residence_locality"})
_ROW_KEY = re.compile(r"(field|value|reason)-(0|[1-9][0-9]{0,3})")
_LIST_SEPARATORS = re.compile(r"[,،;]")
YES, NO = _l("Yes"), _l("No")  # the words `texts.forms.value_text` shows


@dataclass(frozen=True)
class Row:
    """One correction as typed: the field's name, its correct value, and why."""

    field: str = ""
    value: str = ""
    reason: str = ""


@dataclass
class Problems:
    """What the page shows beside each row, and above them all."""

    rows: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    general: list[str] = dataclasses.field(default_factory=list)

    def add(self, index: int | None, message: str) -> None:
        if index is None:
            self.general.append(message)
        else:
            self.rows.setdefault(index, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.rows or self.general)


# --- reading the rows ---------------------------------------------------------------------


def posted_rows(form: Mapping[str, str]) -> list[Row]:
    """The rows with a value or a reason typed, in order (gaps and empty rows dropped)."""
    indices = sorted({int(m.group(2)) for key in form if (m := _ROW_KEY.fullmatch(key))})
    rows = [
        Row(
            form.get(f"field-{n}", "").strip()[:60],
            # One character more than allowed, so the form's rules say "too long".
            form.get(f"value-{n}", "")[: MAX_VALUE + 1],
            form.get(f"reason-{n}", "")[: MAX_REASON + 1],
        )
        for n in indices
    ]
    # Nothing typed is nothing asked: emptying a row's value and reason drops it (no script
    # and no remove button, which the Enter key could press by mistake).
    return [row for row in rows if row.value.strip() or row.reason.strip()]


def check_rows(rows: list[Row], known: Iterable[str], today: date) -> Problems:
    """What this page refuses before the form's rules are asked: row count, fields, reasons."""
    problems, seen, known_fields = Problems(), set(), set(known)
    if len(rows) > MAX_ROWS:
        error = FieldError("changes", CorrectionError.TOO_MANY_CHANGES, {"max": MAX_ROWS})
        problems.add(None, correction_text.error_text(error))
    for n, row in enumerate(rows[:MAX_ROWS]):
        if row.field not in known_fields:
            problems.add(n, _message(row.field, CorrectionError.UNKNOWN_FIELD))
        elif row.field in seen:
            problems.add(n, _message(row.field, correction_text.DUPLICATE_FIELD))
        seen.add(row.field)
        for error in _reason_errors(row, today):
            problems.add(n, correction_text.error_text(error))
    return problems


def _message(field_name: str, code: str) -> str:
    return correction_text.error_text(FieldError(field_name, code))


def _reason_errors(row: Row, today: date) -> list[FieldError]:
    """The reason is free text for the committee: the form's rules for text, not required here
    (`core.correction_changes` says so itself when it is empty)."""
    cleaner = fields.optional(fields.text(MAX_REASON))
    ctx = Context(today, lambda code: False)
    return clean_fields({"reason": cleaner}, {"reason": [row.reason]}, ctx)[1]


# --- typed words to the form's values -----------------------------------------------------


@dataclass
class Typed:
    """The changes to send, and the towns each locality row could mean (for its error)."""

    changes: list[Change]
    towns: dict[str, list[Locality]]


def to_changes(rows: list[Row], old_values: Mapping[str, Any]) -> Typed:
    """The rows as `Change`s, their words turned into the form's values."""
    typed = Typed([], {})
    for row in rows:
        value = _form_value(row.field, row.value.strip(), old_values, typed)
        typed.changes.append(Change(row.field, value, row.reason))
    return typed


def _form_value(name: str, value: str, old_values: Mapping[str, Any], typed: Typed) -> str:
    base, old = base_name(name), old_values.get(name)
    if base in LOCALITY_FIELDS and value:
        return _town_code(name, value, typed)
    if isinstance(old, bool):
        return _word(value, _yes_no())
    words = _option_words(base)
    if not words:
        return value
    if isinstance(old, list):
        parts = (part.strip() for part in _LIST_SEPARATORS.split(value))
        return ",".join(_word(part, words) for part in parts if part)
    return _word(value, words)


def _town_code(name: str, value: str, typed: Typed) -> str:
    matches = matching_localities(store.db(), value)
    if len(matches) == 1:
        return matches[0].code
    typed.towns[name] = matches
    return value


def _word(value: str, words: Mapping[str, str]) -> str:
    return words.get(fold(value), value)


def _in_every_language(labels: Mapping[str, Any]) -> dict[str, str]:
    """Folded labels of every language -> the stored value (a citizen may type any of them)."""
    words = {fold(value): value for value in labels}
    for language in NAMES:
        with force_locale(language):
            words |= {fold(str(label)): value for value, label in labels.items()}
    return words


def _option_words(base: str) -> dict[str, str]:
    options = form_text.OPTIONS.get(FIELD_OPTIONS.get(base, ""), {})
    return _in_every_language(options) if options else {}


def _yes_no() -> dict[str, str]:
    return _in_every_language({"yes": YES, "no": NO}) | {"1": "yes", "0": "no"}


# --- where each refusal is shown ----------------------------------------------------------


def place_errors(
    rows: list[Row], errors: Iterable[FieldError], old_values: Mapping[str, Any], typed: Typed
) -> Problems:
    """Each error beside the row of its field; an error on another field says which one."""
    problems = Problems()
    for error in errors:
        index = next((n for n, row in enumerate(rows) if row.field == error.field), None)
        message = _row_message(error, old_values, typed)
        if index is None and field_page(error.field) is not None:
            message = str(correction_text.ALSO_CORRECT) % {
                "field": form_text.field_label(error.field),
                "message": message,
            }
        problems.add(index, message)
    return problems


def _row_message(error: FieldError, old_values: Mapping[str, Any], typed: Typed) -> str:
    """The form's sentence, except where a list of words helps a citizen more."""
    if error.code == ErrorCode.UNKNOWN_LOCALITY:
        towns = typed.towns.get(error.field)
        if not towns:
            return str(correction_text.NO_TOWN)
        names = " / ".join(town_name(town) for town in towns)
        return str(correction_text.TOWNS_MATCH) % {"names": names}
    if error.code == ErrorCode.INVALID_CHOICE:
        words = _choices(error.field, old_values.get(error.field))
        if words:
            return str(correction_text.CHOOSE_ONE_OF) % {"options": words}
    return correction_text.error_text(error)


def _choices(name: str, old: Any) -> str:
    if isinstance(old, bool):
        return f"{YES} / {NO}"
    options = form_text.OPTIONS.get(FIELD_OPTIONS.get(base_name(name), ""), {})
    return " / ".join(str(label) for label in options.values())


# --- the application in plain words -------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A heading (a page of the form, or a member) and its fields: name, label, value."""

    title: str
    fields: list[tuple[str, str, str]]


def groups(values: Iterable[tuple[str, Any]]) -> list[Group]:
    """The application's values in the form's order, a group per page and per member."""
    found: list[Group] = []
    for name, value in values:
        title = _group_title(name)
        if not found or found[-1].title != title:
            found.append(Group(title, []))
        label = str(form_text.LABELS.get(base_name(name), name))
        found[-1].fields.append((name, label, plain_value(name, value)))
    return found


def _group_title(name: str) -> str:
    if name.startswith("members-"):
        return _("Member %(number)s", number=int(name.split("-")[1]) + 1)
    return str(form_text.PAGE_TITLES[field_page(name) or "personal"])


def base_name(name: str) -> str:
    """`members-2-work` -> `work`; the head's and the home's fields are their own name."""
    return name.split("-", 2)[-1] if name.startswith("members-") else name


def plain_value(name: str, value: Any) -> str:
    """A stored value as a citizen reads it: option words, yes or no, a town's name."""
    if base_name(name) in LOCALITY_FIELDS and value:
        town = store.db().get(Locality, str(value))
        return town_name(town) if town else str(value)
    return form_text.value_text(name, value)


def town_name(town: Locality) -> str:
    return str(town.name_ar if str(get_locale()) == "ar" else town.name_en)
