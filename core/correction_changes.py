"""Changes proposed to a family's data, checked field by field with the form's own rules.

A change names a field of the form (members are `members-<n>-<name>`); each touched page is
cleaned again whole, so a correction can never store what the form itself would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from core.fields import ErrorCode, FieldError
from core.household import MEMBER_FIELDS, PAGE_FIELDS, PAGES, clean_page

MAX_CHANGES = 20
# What the form refuses in any text: control characters and angle brackets.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f<>]")
MAX_REASON = 300
NOT_CORRECTABLE = frozenset({"declaration"})  # the citizen's own declaration stands


@dataclass(frozen=True)
class Change:
    """One field to correct, as typed: `field` is the form's own field name."""

    field: str
    new: str
    reason: str
    proof: str = ""


class CorrectionError(StrEnum):
    """Why a proposed change was refused, beside the form's own `ErrorCode`s."""

    UNKNOWN_FIELD = "unknown_field"  # the application has no such field
    REASON_REQUIRED = "reason_required"  # every change says why
    TOO_MANY_CHANGES = "too_many_changes"  # params: max
    DUPLICATE_FIELD = "duplicate_field"  # the same field twice in one request


class CorrectionInvalid(ValueError):
    """The proposed changes cannot be applied; `errors` say which field and why."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("invalid correction")
        self.errors = list(errors)


class NothingToCorrect(ValueError):
    """No change was given, or every new value equals the old one."""


# --- the form's fields, flattened ---------------------------------------------------------


def field_page(field: str) -> str | None:
    """The page a field name belongs to (members are `members-<n>-<name>`)."""
    if field.startswith("members-"):
        _, index, name = [*field.split("-", 2), "", ""][:3]
        return "family" if index.isdigit() and name in MEMBER_FIELDS else None
    for page in PAGES:
        if page != "family" and field in PAGE_FIELDS[page]:
            return page
    return None


def current_values(pages: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every correctable field of an application with its value, in the form's order."""
    values: list[tuple[str, Any]] = []
    for page in PAGES:
        data = pages.get(page) or {}
        if page == "family":
            for n, member in enumerate(data.get("members") or []):
                values += [(f"members-{n}-{name}", member.get(name)) for name in MEMBER_FIELDS]
            continue
        values += [
            (name, data.get(name)) for name in PAGE_FIELDS[page] if name not in NOT_CORRECTABLE
        ]
    return values


def _as_posted(value: Any) -> list[str]:
    """A cleaned value as a browser would post it, so the page's cleaner can check it again."""
    if value is None:
        return [""]
    if isinstance(value, bool):
        return ["yes"] if value else [""]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def page_as_form(page: str, data: dict[str, Any]) -> dict[str, list[str]]:
    if page == "family":
        form: dict[str, list[str]] = {}
        for n, member in enumerate(data.get("members") or []):
            form |= {f"members-{n}-{k}": _as_posted(v) for k, v in member.items()}
        return form
    return {name: _as_posted(value) for name, value in data.items()}


def _new_posted(field: str, text: str, old: Any) -> list[str]:
    """Several choices (assets, incomes) are typed as a comma-separated list."""
    if isinstance(old, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return [text]


def apply_changes(
    session: Session,
    pages: dict[str, Any],
    changes: Iterable[Change],
    *,
    today: date,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The corrected pages and the change records (old and new cleaned values).

    Each touched page is cleaned again whole, with the form's own rules, so a correction can
    never store what the form itself would refuse. Raises `CorrectionInvalid`.
    """
    old_values = dict(current_values(pages))
    forms: dict[str, dict[str, list[str]]] = {}
    errors: list[FieldError] = []
    seen: set[str] = set()
    wanted = list(changes)[: MAX_CHANGES + 1]
    if len(wanted) > MAX_CHANGES:
        raise CorrectionInvalid(
            [FieldError("changes", CorrectionError.TOO_MANY_CHANGES, {"max": MAX_CHANGES})]
        )
    for change in wanted:
        page = field_page(change.field)
        if page is None or change.field not in old_values:
            errors.append(FieldError(change.field, CorrectionError.UNKNOWN_FIELD))
            continue
        if not change.reason.strip():
            errors.append(FieldError(change.field, CorrectionError.REASON_REQUIRED))
            continue
        if _UNSAFE.search(change.reason + change.proof):  # kept, shown and exported later
            errors.append(FieldError(change.field, ErrorCode.INVALID_CHARACTERS))
            continue
        if change.field in seen:
            errors.append(FieldError(change.field, CorrectionError.DUPLICATE_FIELD))
            continue
        seen.add(change.field)
        form = forms.setdefault(page, page_as_form(page, pages[page]))
        form[change.field] = _new_posted(change.field, change.new, old_values[change.field])
    if errors:
        raise CorrectionInvalid(errors)
    corrected = dict(pages)
    for page, form in forms.items():
        data, page_errors = clean_page(page, form, today=today, session=session)
        errors += page_errors
        corrected[page] = data
    if errors:
        raise CorrectionInvalid(errors)
    new_values = dict(current_values(corrected))
    records = [
        {
            "field": c.field,
            "old": old_values[c.field],
            "new": new_values.get(c.field),
            "reason": c.reason.strip()[:MAX_REASON],
            "proof": c.proof.strip()[:MAX_REASON],
        }
        for c in wanted
        if new_values.get(c.field) != old_values[c.field]
    ]
    if not records:
        raise NothingToCorrect()
    return corrected, records


def as_text(value: Any) -> str:
    """A stored new value typed back, as `apply_changes` expects it."""
    posted = _as_posted(value)
    return ",".join(posted) if isinstance(value, list) else posted[0]
