"""Applications: one per family, as stored, with its earlier versions and who reads them.

A family's form is stored once (`core.submissions` applies the circular's rules: one form per
family, exclusions kept with their reason); corrections make new versions, never edits, and
every replaced version is kept here as it was.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import references
from core.db import Base, UTCDateTime, utcnow
from core.geography import Area, AreaLevel
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
    # An optional second mobile (E.164), used when `phone` is permanently unreachable.
    second_phone: Mapped[str | None] = mapped_column(String(20))
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


def application_by_reference(session: Session, reference: str) -> Application | None:
    """The application a citizen quotes (on the phone or by SMS), if it exists."""
    return session.scalar(select(Application).where(Application.reference == reference))


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
