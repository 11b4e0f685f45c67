"""Applications: one per family, stored once, with the circular's eligibility rules.

Circular part 5.1(e): one form per family — a second form with the same civil registry or
the same head's ID is refused and the first stays as it was; an overlap of members only is
flagged for the committee. Part 5.1(f): public-sector employees and pensioners are kept but
marked ineligible, with the reason.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Insert,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import references
from core.db import Base, UTCDateTime, table, utcnow
from core.geography import Area, AreaLevel, UnknownArea, locality_area
from core.household import FamilyKeys, family_keys, ineligibility, is_complete
from core.links import Link, consume
from core.programme import beirut_day_of
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible


class ApplicationStatus(StrEnum):
    """Where an application stands."""

    RECEIVED = "received"  # stored; awaiting scoring
    INELIGIBLE = "ineligible"  # kept, but excluded by the circular's rules (reason stored)
    NEEDS_REVIEW = "needs_review"  # a member also appears on another family's form


class KeyKind(StrEnum):
    """What identifies a family across forms."""

    REGISTRY = "registry"  # place + number of civil registry (محل ورقم القيد)
    HEAD_ID = "head_id"  # the head of household's ID number
    MEMBER_ID = "member_id"  # a member's ID number (overlaps are flagged, not refused)


class Application(AreaScoped, Base):
    """One family's form, as submitted (corrections make new versions later, never edits)."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(10), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(12))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The version the relay last handed to the scoring queue (core/relay.py); behind
    # `version` (or None) means a score is owed and not yet relayed.
    score_relayed_version: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)  # JSON: page -> cleaned fields
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Its Beirut day, always written (nullable only as `Link.created_on` is).
    submitted_on: Mapped[date | None] = mapped_column(
        Date, default=beirut_day_of("submitted_at"), index=True
    )

    def pages(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(self.data)
        return data

    def area(self) -> Area | None:
        """The municipality the application belongs to (what SMS are counted against)."""
        if not self.locality_code:
            return None
        return Area(
            AreaLevel.LOCALITY,
            self.locality_code,
            self.governorate_code,
            self.district_code,
            self.locality_code,
        )


# The dashboard's forms completed, by area and by day (core/dashboard.py, migration 0009).
Index(
    "ix_applications_area_day",
    Application.governorate_code,
    Application.district_code,
    Application.locality_code,
    Application.submitted_on,
)

# What the relay reads every few hundred milliseconds: versions whose score is owed and not
# yet handed to the scoring queue (core/relay.py, migration 0014).
SCORE_TO_RELAY = or_(
    Application.score_relayed_version.is_(None),
    Application.score_relayed_version < Application.version,
)
Index(
    "ix_applications_score_to_relay",
    Application.id,
    postgresql_where=SCORE_TO_RELAY,
    sqlite_where=SCORE_TO_RELAY,
)


class FamilyKey(Base):
    """A value that identifies a family in a round; registry and head ID are unique."""

    __tablename__ = "family_keys"
    # Led by the value: every submission looks its family's values up (migration 0003).
    __table_args__ = (UniqueConstraint("value", "programme_id", "kind", "unique_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    kind: Mapped[str] = mapped_column(String(12))
    value: Mapped[str] = mapped_column(String(40))
    # Equal to `value` for unique kinds; the row id for member IDs, which may repeat.
    unique_value: Mapped[str] = mapped_column(String(40))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)


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


def application_by_reference(session: Session, reference: str) -> Application | None:
    """The application a citizen quotes (on the phone or by SMS), if it exists."""
    return session.scalar(select(Application).where(Application.reference == reference))


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


def application_for_link(session: Session, link_id: int) -> Application | None:
    """The application a used link produced (the late tab sees the receipt)."""
    return session.scalar(select(Application).where(Application.link_id == link_id))


def applications_visible_to(
    session: Session, viewer: Viewer, search: str = "", limit: int = 50
) -> list[Application]:
    """The municipality's (or area's) applications, newest first, by reference or phone."""
    stmt = select(Application).order_by(Application.submitted_at.desc(), Application.id.desc())
    stmt = _search(stmt, search).limit(limit)
    return list(session.scalars(visible(stmt, viewer, Application, Permission.VIEW_APPLICATIONS)))


def _search(stmt: Any, search: str) -> Any:
    from core.phones import NotLebaneseMobile, normalise_mobile

    text = search.strip()
    if not text:
        return stmt
    reference = references.parse_reference(text)
    if reference is not None:
        return stmt.where(Application.reference == reference)
    try:
        return stmt.where(Application.phone == normalise_mobile(text))
    except NotLebaneseMobile:
        return stmt.where(Application.id.is_(None))  # neither a reference nor a phone


class ApplicationVersion(Base):
    """A version of a family's form that a correction replaced, kept as it was.

    The application row always holds the current version; every earlier one is here, with
    the correction that replaced it. Nothing a family sent is ever overwritten.
    """

    __tablename__ = "application_versions"
    __table_args__ = (UniqueConstraint("application_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaced_by_correction_id: Mapped[int | None] = mapped_column(Integer)

    def pages(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(self.data)
        return data


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


def versions_of(session: Session, application_id: int) -> list[ApplicationVersion]:
    """The replaced versions of an application, oldest first."""
    stmt = (
        select(ApplicationVersion)
        .where(ApplicationVersion.application_id == application_id)
        .order_by(ApplicationVersion.version)
    )
    return list(session.scalars(stmt))


def applications_of_phone(session: Session, viewer: Viewer, phone: str) -> list[Application]:
    """The applications a caller's number appears on (the agent's view when a call comes in)."""
    stmt = (
        select(Application)
        .where(Application.phone == phone)
        .order_by(Application.submitted_at.desc())
        .limit(20)
    )
    return list(session.scalars(visible(stmt, viewer, Application, Permission.VIEW_APPLICATIONS)))
