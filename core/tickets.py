"""Complaints, data-correction requests and call-back requests from the hotline and SMS.

A ticket is what a citizen is told to quote: an 8-digit number (seven random digits and a
Verhoeff check digit, so a misheard digit is caught). The complaint room reads tickets and
call-back requests of its area; a correction is approved by the committee, never by the agent
who logged it (that comes with the complaint-room issue).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.references import check_digit
from core.roles import Permission
from core.scopes import AreaScoped, Viewer, visible

TICKET_DIGITS = 8
MAX_TEXT = 1000  # characters of a complaint typed by SMS that are kept


class TicketKind(StrEnum):
    """What the citizen asks for."""

    COMPLAINT = "complaint"
    CORRECTION = "correction"  # a data correction on an application


class TicketCategory(StrEnum):
    """The hotline's categories (one digit each on the phone menu, in this order)."""

    NOT_RECEIVED = "not_received"  # 1: applied, heard nothing
    WRONG_DATA = "wrong_data"  # 2: a correction of the application's data
    EXCLUDED = "excluded"  # 3: thinks the exclusion is wrong
    ABUSE = "abuse"  # 4: a focal point or a distributor misbehaved
    OTHER = "other"  # 5: anything else


MENU_CATEGORIES = tuple(TicketCategory)  # digit n picks MENU_CATEGORIES[n - 1]


class Ticket(AreaScoped, Base):
    """One complaint or correction request, by voice (a recording) or SMS (text)."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(TICKET_DIGITS), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # ivr, sms
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    text: Mapped[str | None] = mapped_column(Text)
    recording_url: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CallbackRequest(AreaScoped, Base):
    """A caller without a smartphone asks a volunteer to call back and fill the form."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    town_recording_url: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


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
) -> Ticket:
    """Store a ticket under a fresh number (drawn again in the rare case it is taken)."""
    kind = TicketKind.CORRECTION if category is TicketCategory.WRONG_DATA else TicketKind.COMPLAINT
    number = new_ticket_number()
    while session.scalar(select(Ticket.id).where(Ticket.number == number)) is not None:
        number = new_ticket_number()
    ticket = Ticket(
        number=number,
        kind=kind,
        category=category,
        channel=channel,
        phone=phone,
        language=language,
        text=text[:MAX_TEXT] if text else None,
        recording_url=recording_url,
        status="open",
        created_at=utcnow(),
    )
    session.add(ticket)
    session.flush()
    return ticket


def request_callback(
    session: Session, *, phone: str, language: str, town_recording_url: str | None
) -> CallbackRequest:
    request = CallbackRequest(
        phone=phone,
        language=language,
        town_recording_url=town_recording_url,
        status="open",
        created_at=utcnow(),
    )
    session.add(request)
    session.flush()
    return request


def tickets_visible_to(session: Session, viewer: Viewer, limit: int = 100) -> list[Ticket]:
    """The complaint room's tickets of the viewer's area, newest first."""
    stmt = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return list(session.scalars(visible(stmt, viewer, Ticket, Permission.HANDLE_COMPLAINTS)))


def callbacks_visible_to(
    session: Session, viewer: Viewer, limit: int = 100
) -> list[CallbackRequest]:
    """Call-back requests of the viewer's area, newest first, for the room to route."""
    stmt = (
        select(CallbackRequest)
        .order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
        .limit(limit)
    )
    return list(
        session.scalars(visible(stmt, viewer, CallbackRequest, Permission.HANDLE_COMPLAINTS))
    )
