"""Decisions: every measure a municipality, a qaimaqam or a governor takes, and the ministries'
circulars.

A decision is read within its area's chain. A municipality's decision by the municipality, its
qaimaqam, its governor and the national level; a qaimaqam's (circular §3.3) also by every
municipality of the district, a governor's by every district and municipality of the
governorate: a decision binds the areas below the one that issued it. A ministry's circular
carries no area: it is published to everyone, staff and public alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    and_,
    false,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import audit, fields
from core.db import Base, UTCDateTime, utcnow
from core.fields import FieldError, FormInput
from core.geography import AreaLevel, District, Governorate, Locality
from core.roles import Permission, Role, can
from core.scopes import AreaScoped, Viewer, covers, visible
from core.users import StaffUser


class DecisionKind(StrEnum):
    MUNICIPAL = "municipal"  # a municipality's decision, scoped to its area
    DISTRICT = "district"  # a qaimaqam's decision, for the district and its municipalities
    GOVERNORATE = "governorate"  # a governor's decision, for the whole governorate
    CIRCULAR = "circular"  # a ministry's circular, published to everyone


class DecisionCategory(StrEnum):
    CURFEW = "curfew"
    CLOSURE = "closure"
    AID = "aid"
    QUARANTINE = "quarantine"
    OTHER = "other"


class Decision(AreaScoped, Base):
    """One decision or circular, as issued; corrections are new records, never edits."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)  # None: until revoked
    issuer: Mapped[str] = mapped_column(String(120))  # the area or ministry, as named
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    # A municipal decision's municipality, for its name in the reader's language (loaded with
    # the decisions, in one more query); None for a circular.
    municipality: Mapped[Locality | None] = relationship(
        primaryjoin="foreign(Decision.locality_code) == Locality.code",
        viewonly=True,
        lazy="selectin",
    )
    # A district's or governorate's decision: the area, for its name in the reader's language.
    district: Mapped[District | None] = relationship(
        primaryjoin="and_(foreign(Decision.district_code) == District.code, "
        "Decision.kind == 'district')",
        viewonly=True,
        lazy="selectin",
    )
    governorate: Mapped[Governorate | None] = relationship(
        primaryjoin="and_(foreign(Decision.governorate_code) == Governorate.code, "
        "Decision.kind == 'governorate')",
        viewonly=True,
        lazy="selectin",
    )


# --- recording and publishing -----------------------------------------------------------------

MAX_TITLE = 200  # a headline, as the municipality's register would carry it
MAX_TEXT = 5000  # a decision's text runs to a page or two; a circular's annexes are linked
LIMIT = 200  # a page lists this many, newest first

# The ministry each publishing role speaks for. The `ministry` role is the social programme's
# ministry (it reads the beneficiary lists), so its circulars are issued as Social Affairs'.
# Stored as these English names (stable, and the pages' catalog keys); shown translated.
MINISTRIES = {
    Role.MINISTRY: "Ministry of Social Affairs",
    Role.HEALTH_MINISTRY: "Ministry of Public Health",
}

UNTIL_BEFORE_FROM = "until_before_from"  # an error code of its own: it names two fields

_FIELDS: dict[str, fields.Cleaner] = {
    "title": fields.text(MAX_TITLE),
    "text": fields.paragraphs(MAX_TEXT),
    "category": fields.choice(tuple(DecisionCategory)),
    "effective_from": fields.day,
    "effective_until": fields.optional(fields.day),
}


class DecisionInvalid(fields.FormRefused):
    """What was typed cannot be recorded."""


class NotAnIssuer(PermissionError):
    """The account issues no decision of this kind (no municipality, or not a ministry)."""


@dataclass(frozen=True)
class DecisionDraft:
    """A decision as typed and cleaned, before it is recorded."""

    title: str
    text: str
    category: DecisionCategory
    effective_from: date
    effective_until: date | None  # None: until revoked


def clean_decision(form: FormInput) -> DecisionDraft:
    """The posted form as a draft, or `DecisionInvalid` listing every refused field."""
    context = fields.Context(utcnow().date(), locality_exists=lambda _code: False)
    data, errors = fields.clean_fields(_FIELDS, form, context)
    if errors:
        raise DecisionInvalid(errors)
    start = date.fromisoformat(data["effective_from"])
    end = date.fromisoformat(data["effective_until"]) if data["effective_until"] else None
    if end is not None and end < start:
        raise DecisionInvalid([FieldError("effective_until", UNTIL_BEFORE_FROM)])
    category = DecisionCategory(data["category"])
    return DecisionDraft(data["title"], data["text"], category, start, end)


def record_decision(session: Session, user: StaffUser, draft: DecisionDraft) -> Decision:
    """A focal point, a qaimaqam or a governor records a decision of its own area, placed in it.

    Decisions are never edited: a correction, an extension or a repeal is a new decision that
    says so, and both stay on record, as in the issuing office's own register.
    """
    level = user.area.level
    if not can(user.role, Permission.RECORD_DECISIONS) or level not in _ISSUING_LEVELS:
        raise NotAnIssuer()
    kind, name, key = _ISSUING_LEVELS[level]
    code = user.area.code
    issuer = session.execute(select(name).where(key == code)).scalar_one()
    decision = _new(user, draft, kind, issuer)
    decision.place_in(user.area)
    details = {level.value: code, "kind": kind.value}
    return _issue(session, user, decision, "decision.recorded", **details)


# The kind of decision each level of account records, and its area's English name and code.
_ISSUING_LEVELS: dict[AreaLevel, tuple[DecisionKind, Mapped[str], Mapped[str]]] = {
    AreaLevel.LOCALITY: (DecisionKind.MUNICIPAL, Locality.name_en, Locality.code),
    AreaLevel.DISTRICT: (DecisionKind.DISTRICT, District.name_en, District.code),
    AreaLevel.GOVERNORATE: (DecisionKind.GOVERNORATE, Governorate.name_en, Governorate.code),
}


def publish_circular(session: Session, user: StaffUser, draft: DecisionDraft) -> Decision:
    """A ministry publishes a circular to everyone: it carries no area, so no scope hides it."""
    issuer = MINISTRIES.get(user.role)
    if issuer is None or not can(user.role, Permission.PUBLISH_CIRCULARS):
        raise NotAnIssuer()
    circular = _new(user, draft, DecisionKind.CIRCULAR, issuer)
    return _issue(session, user, circular, "circular.published", role=user.role.value)


def _new(user: StaffUser, draft: DecisionDraft, kind: DecisionKind, issuer: str) -> Decision:
    return Decision(
        kind=kind,
        category=draft.category,
        title=draft.title,
        text=draft.text,
        effective_from=draft.effective_from,
        effective_until=draft.effective_until,
        issuer=issuer,
        issued_by_id=user.id,
        created_at=utcnow(),
    )


def _issue(
    session: Session, user: StaffUser, decision: Decision, action: str, **details: str
) -> Decision:
    """Store the decision and its audit event, in the caller's transaction."""
    session.add(decision)
    session.flush()
    audit.record(
        session,
        user.username,
        action,
        "decision",
        str(decision.id),
        {"category": decision.category, **details},
    )
    return decision


# --- reading ----------------------------------------------------------------------------------


def decisions_visible_to(
    session: Session, viewer: Viewer, category: DecisionCategory | None = None, limit: int = LIMIT
) -> list[Decision]:
    """The decisions of the viewer's area and of the areas above it (with the reports
    permission), and every circular, newest first."""
    within = visible(
        select(Decision.id).where(Decision.kind != DecisionKind.CIRCULAR),
        viewer,
        Decision,
        Permission.VIEW_REPORTS,
    )
    stmt = select(Decision).where(
        or_(Decision.kind == DecisionKind.CIRCULAR, Decision.id.in_(within), issued_above(viewer))
    )
    return _newest(session, stmt, category, limit)


def issued_above(viewer: Viewer) -> ColumnElement[bool]:
    """The decisions of the district and governorate above the viewer's area: they bind it.

    `visible` gives what lies inside the viewer's area; a qaimaqam's decision carries no
    municipality, so a focal point reaches it by its district's code instead.
    """
    if not can(viewer.role, Permission.VIEW_REPORTS):
        return false()
    area = viewer.area
    above = []
    if area.level in (AreaLevel.DISTRICT, AreaLevel.LOCALITY):
        gov = Decision.governorate_code == area.governorate_code
        above.append(and_(Decision.kind == DecisionKind.GOVERNORATE, gov))
    if area.level is AreaLevel.LOCALITY:
        district = Decision.district_code == area.district_code
        above.append(and_(Decision.kind == DecisionKind.DISTRICT, district))
    return or_(*above) if above else false()


def _binds(viewer: Viewer, decision: Decision) -> bool:
    """`issued_above` for one decision already loaded."""
    if not can(viewer.role, Permission.VIEW_REPORTS):
        return False
    area = viewer.area
    if decision.kind == DecisionKind.GOVERNORATE:
        below = area.level in (AreaLevel.DISTRICT, AreaLevel.LOCALITY)
        return below and decision.governorate_code == area.governorate_code
    if decision.kind == DecisionKind.DISTRICT:
        below = area.level is AreaLevel.LOCALITY
        return below and decision.district_code == area.district_code
    return False


def circulars(
    session: Session, category: DecisionCategory | None = None, limit: int = LIMIT
) -> list[Decision]:
    """The ministries' circulars, published to everyone (the public page), newest first."""
    stmt = select(Decision).where(Decision.kind == DecisionKind.CIRCULAR)
    return _newest(session, stmt, category, limit)


def _newest(
    session: Session, stmt: Select[Decision], category: DecisionCategory | None, limit: int
) -> list[Decision]:
    if category is not None:
        stmt = stmt.where(Decision.category == category)
    stmt = stmt.order_by(Decision.created_at.desc(), Decision.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def decision_for(session: Session, viewer: Viewer, decision_id: int) -> Decision | None:
    """One decision the viewer may read: a circular, one its scope covers, or one issued for
    an area above the viewer's."""
    decision = session.get(Decision, decision_id)
    if decision is None:
        return None
    if decision.kind == DecisionKind.CIRCULAR:
        return decision
    readable = covers(viewer, decision, Permission.VIEW_REPORTS) or _binds(viewer, decision)
    return decision if readable else None


def circular_by_id(session: Session, decision_id: int) -> Decision | None:
    """A circular, for anyone; a municipal decision is not public and is not found here."""
    decision = session.get(Decision, decision_id)
    return decision if decision is not None and decision.kind == DecisionKind.CIRCULAR else None
