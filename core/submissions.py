"""Storing a family's form: its submission and each corrected version, under the circular.

Circular part 5.1(e): one form per family — a second form with the same civil registry or
the same head's ID is refused and the first stays as it was; an overlap of members only is
flagged for the committee. Part 5.1(f): public-sector employees and pensioners are kept but
marked ineligible, with the reason.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import references
from core.applications import (
    Application,
    ApplicationStatus,
    ApplicationVersion,
    FamilyKey,
    KeyKind,
)
from core.db import table, utcnow
from core.geography import UnknownArea, locality_area
from core.household import FamilyKeys, family_keys, ineligibility, is_complete
from core.link_lifecycle import consume
from core.links import Link

_INSERT_KEY = insert(table(FamilyKey))


class DuplicateFamily(Exception):
    """This family already has an application in this round; `reference` is the first one."""

    def __init__(self, reference: str | None) -> None:
        super().__init__("duplicate family")
        self.reference = reference


class IncompleteForm(ValueError):
    """Not all four pages are complete."""


def submit(
    session: Session,
    link: Link,
    pages: dict[str, Any],
    language: str,
    entered_by_id: int | None = None,
) -> Application:
    """Store the family's form from its completed `pages`, consuming the link.

    Raises `DuplicateFamily`, `IncompleteForm`, `OutsideWindow` or `LinkUnavailable`; on any
    of them the caller rolls back and nothing is kept. Returns the stored application as a
    detached record. On the day the programme opens this runs hundreds of times a second, so
    it is four statements built once: consume the link (which also checks the window), read
    the family's keys already known, insert the application, insert its keys.
    """
    if not is_complete(pages):
        raise IncompleteForm()
    keys = family_keys(pages)
    consume(session, link)
    known = _known_keys(session, link.programme_id, keys.registry, keys.head_id, keys.member_ids)
    for kind, value, reference in known:
        if (kind, value) in ((KeyKind.REGISTRY, keys.registry), (KeyKind.HEAD_ID, keys.head_id)):
            raise DuplicateFamily(reference)
    overlap = any(kind != KeyKind.REGISTRY for kind, _value, _reference in known)
    status, reason = _classify(pages, overlap)
    values: dict[str, Any] = {
        "programme_id": link.programme_id,
        "link_id": link.id,
        "channel": link.channel,
        "entered_by_id": entered_by_id,
        "phone": pages["personal"]["phone"],
        "second_phone": pages["personal"].get("second_phone"),  # optional: None if not given
        "language": language,
        "status": status,
        "reason": reason,
        "version": 1,
        "data": json.dumps(pages, ensure_ascii=False, sort_keys=True),
        "submitted_at": utcnow(),
        **_area_codes(session, link, pages),
    }
    values["id"], values["reference"] = _insert_application(session, values)
    _store_keys(session, values["id"], link.programme_id, keys)
    return Application(**values)


def _area_codes(session: Session, link: Link, pages: dict[str, Any]) -> dict[str, str | None]:
    """The municipality that sent the link; for a hotline link, the town the family lives in."""
    if link.locality_code is None:
        try:
            area = locality_area(session, str(pages["housing"].get("residence_locality") or ""))
        except UnknownArea:
            return {"governorate_code": None, "district_code": None, "locality_code": None}
        return {
            "governorate_code": area.governorate_code,
            "district_code": area.district_code,
            "locality_code": area.locality_code,
        }
    return {
        "governorate_code": link.governorate_code,
        "district_code": link.district_code,
        "locality_code": link.locality_code,
    }


_KNOWN_KEYS = (
    select(FamilyKey.kind, FamilyKey.value, Application.reference)
    .join(Application, Application.id == FamilyKey.application_id)
    .where(
        FamilyKey.programme_id == bindparam("programme_id"),
        FamilyKey.value.in_(bindparam("values", expanding=True)),
    )
)


def _known_keys(
    session: Session, programme_id: int, registry: str, head_id: str, member_ids: tuple[str, ...]
) -> list[tuple[str, str, str]]:
    """This round's keys equal to any of the family's: (kind, value, application reference)."""
    # On the session's connection, as every statement of a submission: these are Core
    # statements that load no objects, so the ORM's execute path (its compile state, the
    # autoflush, the identity map) has nothing to do for them and cost ~0.1 ms each.
    rows = session.connection().execute(
        _KNOWN_KEYS,
        {"programme_id": programme_id, "values": sorted({registry, head_id, *member_ids})},
    )
    ids = {head_id, *member_ids}
    return [
        (kind, value, reference)
        for kind, value, reference in rows
        if (kind == KeyKind.REGISTRY and value == registry)
        or (kind in (KeyKind.HEAD_ID, KeyKind.MEMBER_ID) and value in ids)
    ]


def _classify(pages: dict[str, Any], overlap: bool) -> tuple[str, str | None]:
    """Ineligible (with the reason) beats an overlap, which the committee reviews."""
    reason = ineligibility(pages)
    if reason is not None:
        return ApplicationStatus.INELIGIBLE, reason
    if overlap:
        return ApplicationStatus.NEEDS_REVIEW, "member_overlap"
    return ApplicationStatus.RECEIVED, None


@cache
def _insert_statement(dialect: str) -> Insert:
    """`INSERT … ON CONFLICT (reference) DO NOTHING RETURNING id`, for this database."""
    applications = table(Application)
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        upsert(applications)
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(applications.c.id)
    )


def _insert_application(session: Session, values: dict[str, Any]) -> tuple[int, str]:
    """Insert under a fresh random reference; a taken one (rare: 900 million) draws again.

    The conflict clause makes checking the reference and inserting one statement.
    """
    stmt = _insert_statement(session.get_bind().dialect.name)
    while True:
        reference = references.new_reference()
        new_id = session.connection().execute(stmt, {**values, "reference": reference}).scalar()
        if new_id is not None:
            return int(new_id), reference


def _store_keys(session: Session, application_id: int, programme_id: int, keys: FamilyKeys) -> None:
    rows = [
        (KeyKind.REGISTRY, keys.registry, keys.registry),
        (KeyKind.HEAD_ID, keys.head_id, keys.head_id),
    ]
    rows += [
        (KeyKind.MEMBER_ID, mid, f"{application_id}:{n}") for n, mid in enumerate(keys.member_ids)
    ]
    try:
        session.connection().execute(
            _INSERT_KEY,
            [
                {
                    "programme_id": programme_id,
                    "kind": kind,
                    "value": value,
                    "unique_value": unique_value,
                    "application_id": application_id,
                }
                for kind, value, unique_value in rows
            ],
        )
    except IntegrityError:
        # Another transaction stored the same family a moment ago: the first one stands.
        # The caller rolls back, as for every refusal.
        raise DuplicateFamily(None) from None


def revise(
    session: Session, application: Application, pages: dict[str, Any], correction_id: int
) -> None:
    """Make `pages` the application's next version; the current one is kept as it was.

    The family's keys follow the new data; a registry or head ID that belongs to another
    family in the round raises `DuplicateFamily` (the caller rolls back). The circular's
    exclusion rules are applied again to the corrected data.
    """
    if not is_complete(pages):
        raise IncompleteForm()
    keys = family_keys(pages)
    known = [
        row
        for row in _known_keys(
            session, application.programme_id, keys.registry, keys.head_id, keys.member_ids
        )
        if row[2] != application.reference
    ]
    for kind, value, reference in known:
        if (kind, value) in ((KeyKind.REGISTRY, keys.registry), (KeyKind.HEAD_ID, keys.head_id)):
            raise DuplicateFamily(reference)
    session.add(
        ApplicationVersion(
            application_id=application.id,
            version=application.version,
            phone=application.phone,
            status=application.status,
            reason=application.reason,
            data=application.data,
            valid_from=_version_start(session, application),
            replaced_at=utcnow(),
            replaced_by_correction_id=correction_id,
        )
    )
    overlap = any(kind != KeyKind.REGISTRY for kind, _value, _reference in known)
    application.status, application.reason = _classify(pages, overlap)
    application.data = json.dumps(pages, ensure_ascii=False, sort_keys=True)
    application.phone = pages["personal"]["phone"]
    application.second_phone = pages["personal"].get("second_phone")
    application.version += 1
    session.execute(delete(FamilyKey).where(FamilyKey.application_id == application.id))
    _store_keys(session, application.id, application.programme_id, keys)
    session.flush()


def _version_start(session: Session, application: Application) -> datetime:
    """When the current version began: submission, or the last correction's approval."""
    last = session.scalar(
        select(ApplicationVersion.replaced_at)
        .where(ApplicationVersion.application_id == application.id)
        .order_by(ApplicationVersion.version.desc())
        .limit(1)
    )
    return last or application.submitted_at
