"""Applications: one per family, stored once, with the circular's eligibility rules.

Circular part 5.1(e): one form per family — a second form with the same civil registry or
the same head's ID is refused and the first stays as it was; an overlap of members only is
flagged for the committee. Part 5.1(f): public-sector employees and pensioners are kept but
marked ineligible, with the reason.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import references
from core.db import Base, UTCDateTime, utcnow
from core.household import family_keys, ineligibility, is_complete
from core.links import Link, consume, open_programme
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
    data: Mapped[str] = mapped_column(Text)  # JSON: page -> cleaned fields
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def pages(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(self.data)
        return data


class FamilyKey(Base):
    """A value that identifies a family in a round; registry and head ID are unique."""

    __tablename__ = "family_keys"
    __table_args__ = (UniqueConstraint("programme_id", "kind", "value", "unique_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    kind: Mapped[str] = mapped_column(String(12))
    value: Mapped[str] = mapped_column(String(40), index=True)
    # Equal to `value` for unique kinds; the row id for member IDs, which may repeat.
    unique_value: Mapped[str] = mapped_column(String(40))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)


class DuplicateFamily(Exception):
    """This family already has an application in this round; `reference` is the first one."""

    def __init__(self, reference: str | None) -> None:
        super().__init__("duplicate family")
        self.reference = reference


class IncompleteForm(ValueError):
    """Not all four pages are complete."""


def submit(session: Session, link: Link, entered_by_id: int | None = None) -> Application:
    """Store the family's form from a link's completed pages, consuming the link.

    Raises `DuplicateFamily`, `IncompleteForm`, `OutsideWindow` or `LinkUnavailable`; on any
    of them the caller rolls back and nothing is kept.
    """
    programme = open_programme(session)
    data = link.pages()
    if not is_complete(data):
        raise IncompleteForm()
    keys = family_keys(data)
    _refuse_duplicate(session, programme.id, keys.registry, keys.head_id)
    consume(session, link)
    application = _new_application(session, link, data, entered_by_id)
    _classify(session, application, programme.id, keys.head_id, keys.member_ids, data)
    _store_keys(session, application, programme.id, keys.registry, keys.head_id, keys.member_ids)
    return application


def _new_application(
    session: Session, link: Link, data: dict[str, Any], entered_by_id: int | None
) -> Application:
    phone = data["personal"]["phone"]
    application = Application(
        reference=_free_reference(session),
        programme_id=link.programme_id,
        link_id=link.id,
        channel=link.channel,
        entered_by_id=entered_by_id,
        phone=phone,
        language=link.language,
        status=ApplicationStatus.RECEIVED,
        version=1,
        data=json.dumps(data, ensure_ascii=False, sort_keys=True),
        submitted_at=utcnow(),
    )
    application.governorate_code = link.governorate_code
    application.district_code = link.district_code
    application.locality_code = link.locality_code
    session.add(application)
    session.flush()
    return application


def _free_reference(session: Session) -> str:
    while True:  # 900 million references: a collision is rare, and then we draw again
        reference = references.new_reference()
        if session.scalar(select(Application.id).where(Application.reference == reference)) is None:
            return reference


def _refuse_duplicate(session: Session, programme_id: int, registry: str, head_id: str) -> None:
    stmt = (
        select(Application.reference)
        .join(FamilyKey, FamilyKey.application_id == Application.id)
        .where(
            FamilyKey.programme_id == programme_id,
            or_(
                (FamilyKey.kind == KeyKind.REGISTRY) & (FamilyKey.value == registry),
                (FamilyKey.kind == KeyKind.HEAD_ID) & (FamilyKey.value == head_id),
            ),
        )
        .limit(1)
    )
    existing = session.scalar(stmt)
    if existing is not None:
        raise DuplicateFamily(existing)


def _classify(
    session: Session,
    application: Application,
    programme_id: int,
    head_id: str,
    member_ids: tuple[str, ...],
    data: dict[str, Any],
) -> None:
    reason = ineligibility(data)
    if reason is not None:
        application.status, application.reason = ApplicationStatus.INELIGIBLE, reason
        return
    ids = {head_id, *member_ids}
    overlap = session.scalar(
        select(FamilyKey.id)
        .where(
            FamilyKey.programme_id == programme_id,
            FamilyKey.value.in_(ids),
            FamilyKey.kind.in_([KeyKind.HEAD_ID, KeyKind.MEMBER_ID]),
        )
        .limit(1)
    )
    if overlap is not None:
        application.status, application.reason = ApplicationStatus.NEEDS_REVIEW, "member_overlap"


def _store_keys(
    session: Session,
    application: Application,
    programme_id: int,
    registry: str,
    head_id: str,
    member_ids: tuple[str, ...],
) -> None:
    rows = [(KeyKind.REGISTRY, registry, registry), (KeyKind.HEAD_ID, head_id, head_id)]
    rows += [(KeyKind.MEMBER_ID, mid, f"{application.id}:{n}") for n, mid in enumerate(member_ids)]
    for kind, value, unique_value in rows:
        session.add(
            FamilyKey(
                programme_id=programme_id,
                kind=kind,
                value=value,
                unique_value=unique_value,
                application_id=application.id,
            )
        )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another transaction stored the same family a moment ago: the first one stands.
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
