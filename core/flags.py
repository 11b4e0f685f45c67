"""Flags on applications: a mukhtar or a volunteer says a form's data look wrong.

Circular §4.2b and §4.4b: the mukhtars and civil society who help a municipality check what
was entered. They do not change anything themselves: a flag says what looks wrong (the kind)
and why (the reason), and the municipality's focal point decides what reaches the committee
(`core.flag_reviews`). A flag is never edited: what was flagged, by whom and why stays as
written; the review adds its own decision beside it, once.

Flags belong to the application's municipality and to nobody else: not its qaimaqam, its
governor or the ministry (they check by home visits, `core.home_visits`). A flag outside the
viewer's municipality does not exist for the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, fields
from core.applications import Application
from core.db import Base, UTCDateTime, utcnow
from core.fields import FormInput
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, covers, visible

MAX_REASON = 500  # a few sentences: what was seen, where, when
LIMIT = 200  # a page lists this many, open ones first


class FlagKind(StrEnum):
    """What looks wrong in the form."""

    WRONG_DATA = "wrong_data"  # a field does not match what is known of the family
    SUSPECTED_FRAUD = "suspected_fraud"  # the family or the form may not be genuine
    FAMILY_MOVED = "family_moved"  # the family no longer lives in the municipality


class FlagStatus(StrEnum):
    """Where a flag stands; it leaves `open` once, by the focal point's review."""

    OPEN = "open"  # awaiting the focal point
    CONFIRMED = "confirmed"  # sent to the committee (a correction request or a complaint)
    CLEARED = "cleared"  # the focal point found nothing wrong, with the reason


class ApplicationFlag(AreaScoped, Base):
    """One flag raised on an application, and the focal point's review of it."""

    __tablename__ = "application_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    flagged_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(Text)
    # Where a confirmed flag went: `correction` or `complaint`, and the ticket the room follows
    # (with the correction request, when the focal point named the fields).
    sent_as: Mapped[str | None] = mapped_column(String(10))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))

    @property
    def is_open(self) -> bool:
        return self.status == FlagStatus.OPEN


# One open flag per application: a second one would split the focal point's review. The
# index settles two mukhtars flagging at the same moment (migration 0020).
_OPEN = ApplicationFlag.status == "open"
Index(
    "uq_application_flags_open",
    ApplicationFlag.application_id,
    unique=True,
    postgresql_where=_OPEN,
    sqlite_where=_OPEN,
)


class FlagInvalid(fields.FormRefused):
    """The kind or the reason cannot be recorded (codes per field, translated by the adapter)."""


class AlreadyFlagged(Exception):
    """The application has an open flag already: the focal point reviews that one first."""


class NotAFlagger(PermissionError):
    """Only mukhtars and volunteers flag, and only their own municipality's applications."""


@dataclass(frozen=True)
class FlagDraft:
    kind: FlagKind
    reason: str


_FIELDS: dict[str, fields.Cleaner] = {
    "kind": fields.choice(tuple(FlagKind)),
    "reason": fields.paragraphs(MAX_REASON),
}


def clean_flag(form: FormInput) -> FlagDraft:
    """The posted kind and reason, or `FlagInvalid` listing every refused field."""
    context = fields.Context(utcnow().date(), locality_exists=lambda _code: False)
    data, errors = fields.clean_fields(_FIELDS, form, context)
    if errors:
        raise FlagInvalid(errors)
    return FlagDraft(FlagKind(data["kind"]), data["reason"])


def flaggable_application(
    session: Session, viewer: Viewer, application_id: int
) -> Application | None:
    """The application, if the viewer may flag it (its own municipality's); None otherwise."""
    application = session.get(Application, application_id)
    if application is None or not covers(viewer, application, Permission.FLAG_APPLICATIONS):
        return None
    return application


def open_flag_of(session: Session, application_id: int) -> ApplicationFlag | None:
    stmt = select(ApplicationFlag).where(ApplicationFlag.application_id == application_id, _OPEN)
    return session.scalar(stmt)


class Flagger(Viewer, Protocol):
    """A member of staff acting: an id to keep, a name for the audit trail."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...


def raise_flag(
    session: Session, user: Flagger, application: Application, draft: FlagDraft
) -> ApplicationFlag:
    """Record the flag for the focal point. Raises `NotAFlagger`, `AlreadyFlagged`."""
    if not covers(user, application, Permission.FLAG_APPLICATIONS):
        raise NotAFlagger()
    if open_flag_of(session, application.id) is not None:
        raise AlreadyFlagged()
    flag = ApplicationFlag(
        application_id=application.id,
        kind=draft.kind,
        reason=draft.reason,
        status=FlagStatus.OPEN,
        flagged_by_id=user.id,
        created_at=utcnow(),
        governorate_code=application.governorate_code,
        district_code=application.district_code,
        locality_code=application.locality_code,
    )
    try:
        with session.begin_nested():
            session.add(flag)
    except IntegrityError:  # another flag won the race for the open slot
        raise AlreadyFlagged() from None
    details = {"application": application.id, "kind": draft.kind.value}
    audit.record(session, user.username, "flag.raised", "flag", str(flag.id), details)
    return flag


# --- who sees what ------------------------------------------------------------------------

# The focal point reviews; mukhtars and volunteers follow what became of their flags.
_READERS = (Permission.REVIEW_FLAGS, Permission.FLAG_APPLICATIONS)


def _reading_permission(viewer: Viewer) -> Permission | None:
    return next((p for p in _READERS if can(viewer.role, p)), None)


def flags_visible_to(
    session: Session, viewer: Viewer, *, status: str | None = None, limit: int = LIMIT
) -> list[ApplicationFlag]:
    """The municipality's flags, open ones first, newest first within each state."""
    permission = _reading_permission(viewer)
    if permission is None:
        return []
    stmt = select(ApplicationFlag)
    if status:
        stmt = stmt.where(ApplicationFlag.status == status)
    stmt = stmt.order_by(
        (ApplicationFlag.status != "open"),
        ApplicationFlag.created_at.desc(),
        ApplicationFlag.id.desc(),
    )
    return list(session.scalars(visible(stmt, viewer, ApplicationFlag, permission).limit(limit)))


def references_of(session: Session, flags: list[ApplicationFlag]) -> dict[int, str]:
    """The reference of each flagged application (what the pages show), by application id."""
    ids = {f.application_id for f in flags}
    if not ids:
        return {}
    stmt = select(Application.id, Application.reference).where(Application.id.in_(ids))
    return {row.id: row.reference for row in session.execute(stmt)}


def flag_for(session: Session, viewer: Viewer, flag_id: int) -> ApplicationFlag | None:
    """One flag by id, if the viewer may see it (the same rule as the list)."""
    permission = _reading_permission(viewer)
    flag = session.get(ApplicationFlag, flag_id)
    if flag is None or permission is None or not covers(viewer, flag, permission):
        return None
    return flag
