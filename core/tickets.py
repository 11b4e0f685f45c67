"""Complaints and call-back requests: what 1766 owes a citizen who is not served.

A ticket is what a citizen is told to quote: an 8-digit number (seven random digits and a
Verhoeff check digit, so a misheard digit is caught). Each ticket has a deadline by category;
a ticket still open past it is escalated to the supervisors. Reports of misconduct are never
shown to a municipality's own staff: the complaint may be about them.

Call-back requests are in `core.callback_requests`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.applications import Application
from core.clock import BEIRUT
from core.db import Base, UTCDateTime, utcnow
from core.geography import AreaLevel
from core.references import check_digit
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, covers, visible

TICKET_DIGITS = 8
MAX_TEXT = 1000  # characters of a complaint typed by SMS that are kept
MAX_NOTE = 1000  # characters of a resolution note (it is also sent by SMS, in part)


class TicketKind(StrEnum):
    """What the citizen asks for."""

    COMPLAINT = "complaint"
    CORRECTION = "correction"  # a data correction on an application


class TicketCategory(StrEnum):
    """What a complaint is about (the complaint room's categories)."""

    INFORMATION = "information"  # applied and heard nothing, or a question
    CORRECTION = "correction"  # the application's data are wrong
    ELIGIBILITY = "eligibility"  # thinks the family was wrongly excluded
    MISCONDUCT = "misconduct"  # an official misbehaved or asked for money
    DISTRIBUTION = "distribution"  # aid not delivered, or delivered wrongly
    NO_LOCAL_OFFICE = "no_local_office"  # no municipality or mukhtar in the town
    OTHER = "other"  # anything else


# The IVR's complaint menu: digit n picks MENU_CATEGORIES[n - 1] (texts/voice.py says them).
MENU_CATEGORIES = (
    TicketCategory.INFORMATION,
    TicketCategory.CORRECTION,
    TicketCategory.ELIGIBILITY,
    TicketCategory.MISCONDUCT,
    TicketCategory.OTHER,
)


class TicketChannel(StrEnum):
    """How the complaint reached 1766."""

    IVR = "ivr"  # a recording left on the voice menu
    SMS = "sms"  # the COMPLAINT keyword
    AGENT = "agent"  # logged by an agent during a call
    WEB = "web"  # a citizen's correction link
    # Raised by staff about a family (a confirmed flag, circular §4.2b): the family did not
    # complain, so the room's decision is not texted to it (a suspected fraud, a move).
    STAFF = "staff"


class TicketStatus(StrEnum):
    """Where a ticket stands; the last three are decisions the citizen is told by SMS."""

    OPEN = "open"  # nobody has taken it yet
    IN_PROGRESS = "in_progress"  # assigned and being worked on
    RESOLVED = "resolved"  # answered or fixed
    REJECTED = "rejected"  # found unfounded
    REFERRED = "referred"  # passed to the body that can act (ministry, municipality, army)


CLOSED = frozenset({TicketStatus.RESOLVED, TicketStatus.REJECTED, TicketStatus.REFERRED})
ACTIVE = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


@dataclass(frozen=True)
class Deadline:
    """How long the room has: calendar hours, or working days (Monday to Friday, Beirut)."""

    amount: int
    working_days: bool

    def due(self, opened: datetime) -> datetime:
        if not self.working_days:
            return opened + timedelta(hours=self.amount)
        moment, left = opened.astimezone(BEIRUT), self.amount
        while left:
            moment += timedelta(days=1)
            if moment.weekday() < 5:  # Saturday and Sunday do not count
                left -= 1
        return moment.astimezone(opened.tzinfo)

    def __str__(self) -> str:
        return f"{self.amount}{'d' if self.working_days else 'h'}"


# Misconduct cannot wait; a data correction needs the committee; other answers need the field.
DEFAULT_DEADLINES: Mapping[TicketCategory, Deadline] = {
    TicketCategory.INFORMATION: Deadline(3, True),
    TicketCategory.CORRECTION: Deadline(7, True),
    TicketCategory.ELIGIBILITY: Deadline(7, True),
    TicketCategory.MISCONDUCT: Deadline(24, False),
    TicketCategory.DISTRIBUTION: Deadline(3, True),
    TicketCategory.NO_LOCAL_OFFICE: Deadline(7, True),
    TicketCategory.OTHER: Deadline(7, True),
}


def parse_deadlines(text: str) -> dict[TicketCategory, Deadline]:
    """`misconduct=24h,correction=5d`: the defaults with these categories changed.

    `h` counts calendar hours, `d` working days. Raises ValueError saying what is wrong.
    """
    deadlines = dict(DEFAULT_DEADLINES)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            category = TicketCategory(name.strip())
        except ValueError:
            valid = ", ".join(c.value for c in TicketCategory)
            raise ValueError(f"unknown category {name.strip()!r} (one of: {valid})") from None
        value = value.strip().lower()
        if len(value) < 2 or value[-1] not in "hd" or not value[:-1].isdigit():
            raise ValueError(f"{part!r}: write hours as 24h or working days as 3d")
        amount = int(value[:-1])
        if not 1 <= amount <= 999:
            raise ValueError(f"{part!r}: the deadline must be between 1 and 999")
        deadlines[category] = Deadline(amount, value[-1] == "d")
    return deadlines


class Ticket(AreaScoped, Base):
    """One complaint or correction request, by voice, SMS, an agent or a correction link."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(TICKET_DIGITS), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    text: Mapped[str | None] = mapped_column(Text)
    recording_url: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    resolution: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    @property
    def tells_citizen(self) -> bool:
        """Whether the decision is texted to the ticket's phone: not when staff raised it."""
        return self.channel != TicketChannel.STAFF

    def is_overdue(self, now: datetime | None = None) -> bool:
        return not self.is_closed and self.due_at is not None and self.due_at <= (now or utcnow())


# The dashboard's open and overdue complaints, by area (core/dashboard.py, migration 0009).
_ACTIVE = Ticket.status.in_([status.value for status in ACTIVE])
Index(
    "ix_tickets_active_area",
    Ticket.governorate_code,
    Ticket.district_code,
    Ticket.locality_code,
    Ticket.due_at,
    postgresql_where=_ACTIVE,
    sqlite_where=_ACTIVE,
)


class TicketClosed(Exception):
    """The ticket has been decided already; a decision is not taken twice."""


class NoteRequired(ValueError):
    """A decision must say what was decided: the citizen is told."""


def new_ticket_number() -> str:
    body = str(secrets.randbelow(9 * 10 ** (TICKET_DIGITS - 2)) + 10 ** (TICKET_DIGITS - 2))
    return body + check_digit(body)


def open_ticket(
    session: Session,
    *,
    phone: str,
    channel: str,
    language: str,
    category: TicketCategory,
    text: str | None = None,
    recording_url: str | None = None,
    application: Application | None = None,
    logged_by_id: int | None = None,
    deadlines: Mapping[TicketCategory, Deadline] = DEFAULT_DEADLINES,
) -> Ticket:
    """Store a ticket under a fresh number (drawn again in the rare case it is taken).

    Without `application`, the caller's newest application on the same phone is linked (the
    agent can change it); the ticket then belongs to that application's area.
    """
    kind = TicketKind.CORRECTION if category is TicketCategory.CORRECTION else TicketKind.COMPLAINT
    number = new_ticket_number()
    while session.scalar(select(Ticket.id).where(Ticket.number == number)) is not None:
        number = new_ticket_number()
    now = utcnow()
    ticket = Ticket(
        number=number,
        kind=kind,
        category=category,
        channel=channel,
        phone=phone,
        language=language,
        text=text[:MAX_TEXT] if text else None,
        recording_url=recording_url,
        status=TicketStatus.OPEN,
        created_at=now,
        logged_by_id=logged_by_id,
        due_at=deadlines[category].due(now),
    )
    link_application(ticket, application or newest_application_of(session, phone))
    session.add(ticket)
    session.flush()
    return ticket


def newest_application_of(session: Session, phone: str) -> Application | None:
    stmt = (
        select(Application)
        .where(Application.phone == phone)
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def link_application(ticket: Ticket, application: Application | None) -> None:
    """Tie the ticket to an application and to its area (None: national, the room only)."""
    ticket.application_id = application.id if application else None
    ticket.governorate_code = application.governorate_code if application else None
    ticket.district_code = application.district_code if application else None
    ticket.locality_code = application.locality_code if application else None


def take(session: Session, ticket: Ticket, assignee_id: int, actor: str) -> None:
    """Assign the ticket (to oneself or a colleague); an open ticket is then in progress."""
    if ticket.is_closed:
        raise TicketClosed()
    ticket.assignee_id = assignee_id
    if ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.IN_PROGRESS
    audit.record(session, actor, "ticket.assigned", "ticket", str(ticket.id), {"to": assignee_id})


def decide(session: Session, ticket: Ticket, status: TicketStatus, note: str, actor: str) -> None:
    """Resolve, reject or refer, with the note the citizen will read; the adapter sends it."""
    if status not in CLOSED:
        raise ValueError(f"{status} is not a decision")
    if ticket.is_closed:
        raise TicketClosed()
    note = note.strip()[:MAX_NOTE]
    if not note:
        raise NoteRequired()
    ticket.status, ticket.resolution, ticket.closed_at = status, note, utcnow()
    audit.record(session, actor, f"ticket.{status}", "ticket", str(ticket.id))


def escalate_overdue(session: Session, now: datetime | None = None) -> int:
    """Mark every active ticket past its deadline as escalated; the supervisors see them.

    Run by the scheduler; safe to run twice (a ticket is escalated once) and from several
    processes (one conditional UPDATE decides; each ticket then gets its audit event).
    """
    now = now or utcnow()
    escalated = session.scalars(
        update(Ticket)
        .where(Ticket.status.in_(ACTIVE), Ticket.escalated_at.is_(None), Ticket.due_at <= now)
        .values(escalated_at=now)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    ).all()
    for ticket_id in sorted(escalated):
        audit.record(session, audit.SYSTEM, "ticket.escalated", "ticket", str(ticket_id))
    return len(escalated)


# --- who sees what ------------------------------------------------------------------------


def _hide_misconduct(viewer: Viewer) -> bool:
    """A municipality's staff never see misconduct reports: they may be the ones reported."""
    return viewer.area.level is AreaLevel.LOCALITY


def tickets_visible_to(
    session: Session,
    viewer: Viewer,
    *,
    status: str | None = None,
    overdue_only: bool = False,
    phone: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """Tickets of the viewer's area, newest first; escalated ones first in the overdue view."""
    stmt = select(Ticket)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if overdue_only:
        stmt = stmt.where(Ticket.escalated_at.is_not(None), Ticket.status.in_(ACTIVE))
    if phone:
        stmt = stmt.where(Ticket.phone == phone)
    if _hide_misconduct(viewer):
        stmt = stmt.where(Ticket.category != TicketCategory.MISCONDUCT)
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return list(session.scalars(visible(stmt, viewer, Ticket, Permission.VIEW_COMPLAINTS)))


def ticket_for(session: Session, viewer: Viewer, ticket_id: int) -> Ticket | None:
    """One ticket by id, if the viewer may see it (the same rule as the list)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not covers(viewer, ticket, Permission.VIEW_COMPLAINTS):
        return None
    if _hide_misconduct(viewer) and ticket.category == TicketCategory.MISCONDUCT:
        return None
    return ticket
