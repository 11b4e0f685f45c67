"""Locality fields typed as a town's name: resolved to codes on the server (no JavaScript,
no 1,545-entry list sent to a phone)."""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.arabic import fold as fold_letters
from core.geography import Locality

LOCALITY_FIELDS = {"personal": ("registry_place",), "housing": ("residence_locality",)}
MAX_MATCHES = 12
_CODE = re.compile(r"\d{5}")


def fold(name: str) -> str:
    """A town's name as people type it: the letters in one spelling (`core.arabic.fold`, as
    the SMS keywords are read), a hyphen as a space, single spaces."""
    return " ".join(fold_letters(name).replace("-", " ").split())


def resolve_locality_fields(
    session: Session, page: str, values: dict[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, list[Locality]]]:
    """Replace a uniquely matching name by its code; offer the matches when there are several."""
    candidates: dict[str, list[Locality]] = {}
    for field in LOCALITY_FIELDS.get(page, ()):
        typed = (values.get(field) or [""])[0].strip()
        if not typed or _CODE.fullmatch(typed):
            continue
        matches = matching_localities(session, typed)
        if len(matches) == 1:
            values[field] = [matches[0].code]
        elif matches:
            candidates[field] = matches
    return values, candidates


def matching_localities(session: Session, typed: str) -> list[Locality]:
    """Localities whose Arabic or English name matches what was typed (exact names first)."""
    wanted = fold(typed)[:60]
    if len(wanted) < 2:
        return []
    first = wanted.split()[0]
    rough = session.scalars(
        select(Locality).where(
            or_(Locality.name_en.ilike(f"%{first}%"), Locality.name_ar.contains(first[:3]))
        )
    ).all()
    exact = [loc for loc in rough if wanted in (fold(loc.name_ar), fold(loc.name_en))]
    if exact:
        return exact
    return [loc for loc in rough if wanted in fold(loc.name_ar) or wanted in fold(loc.name_en)][
        :MAX_MATCHES
    ]
