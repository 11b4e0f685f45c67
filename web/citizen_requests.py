"""What 1766 does for a citizen by voice or SMS: a form link, a status, a ticket.

The IVR (`ivr/`) and the SMS keywords (`sms/inbound.py`) are two ways of asking for the same
things; both call these functions, which work in the caller's transaction and return the ids
of the SMS they owe, to be dispatched after the commit. Texts are composed here, in the
citizen's language, from the translation catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session, object_session

from core.applications import Application, ApplicationStatus
from core.links import Channel, issue_link
from core.notifications import owe_sms
from core.phones import NotLebaneseMobile, normalise_mobile
from core.references import grouped
from core.tickets import Ticket, TicketCategory, open_ticket
from scoring.explain import published_entry
from scoring.lists import ListEntry, Outcome
from web.list_text import reason_text

LANGUAGES = ("ar", "en", "fr")


@dataclass(frozen=True)
class Owed:
    """SMS owed by what was just done, to enqueue once the transaction commits."""

    message_ids: tuple[int, ...] = ()


def send_form_link(
    session: Session, phone: str, language: str, public_base_url: str, ttl_days: int
) -> Owed:
    """A one-time form link by SMS to `phone` (a Lebanese mobile, already normalised).

    The console's rules hold: the programme window (`OutsideWindow`), one active link per
    number and three a day (`TooManyLinks`); the caller translates those refusals.
    """
    link, token = issue_link(session, None, phone, language, Channel.HOTLINE, ttl_days)
    with force_locale(language):
        body = _(
            "1766: fill the assistance form once, here: %(url)s",
            url=f"{public_base_url}/f/{token}",
        )
    message_id = owe_sms(session, phone, body, language, "form_link", None)
    link.message_id = message_id
    return Owed((message_id,))


def status_text(application: Application, language: str) -> str:
    """One sentence on where an application stands, for speech and for SMS alike."""
    entry = _published(application)
    with force_locale(language):
        reference = grouped(application.reference)
        if entry is not None:
            return _list_status(reference, entry)
        if application.status == ApplicationStatus.INELIGIBLE:
            return _(
                "Application %(reference)s: received, but not eligible under the programme's "
                "rules. Call 1766 to complain.",
                reference=reference,
            )
        if application.status == ApplicationStatus.NEEDS_REVIEW:
            return _(
                "Application %(reference)s: received, under review by the committee.",
                reference=reference,
            )
        return _(
            "Application %(reference)s: received, being assessed.",
            reference=reference,
        )


def _published(application: Application) -> ListEntry | None:
    """Once a list is published, the status is the family's outcome on it."""
    session = object_session(application)
    return published_entry(session, application.id) if session is not None else None


def _list_status(reference: str, entry: ListEntry) -> str:
    if entry.outcome == Outcome.SELECTED:
        return _(
            "Application %(reference)s: on the assistance list. The army will hand the aid "
            "over; the head of household must show an ID.",
            reference=reference,
        )
    return _(
        "Application %(reference)s: not on the assistance list: %(reason)s. Call 1766 to complain.",
        reference=reference,
        reason=reason_text(entry.reason),
    )


def send_status(session: Session, application: Application, language: str) -> Owed:
    """The status by SMS to the phone on the application (never to whoever asked)."""
    message_id = owe_sms(
        session,
        application.phone,
        status_text(application, language),
        language,
        "status",
        None,
    )
    return Owed((message_id,))


def file_ticket(
    session: Session,
    *,
    phone: str,
    channel: str,
    language: str,
    category: TicketCategory,
    text: str | None = None,
    recording_url: str | None = None,
) -> tuple[Ticket, Owed]:
    """A complaint or correction ticket, and the SMS that gives the caller its number."""
    ticket = open_ticket(
        session,
        phone=phone,
        channel=channel,
        language=language,
        category=category,
        text=text,
        recording_url=recording_url,
        deadlines=current_app.config["INTAKE_SETTINGS"].ticket_deadlines,
    )
    if not _is_lebanese_mobile(phone):  # a landline or a withheld number cannot take an SMS
        return ticket, Owed()
    message_id = owe_sms(session, phone, ticket_text(ticket, language), language, "ticket", None)
    return ticket, Owed((message_id,))


def _is_lebanese_mobile(phone: str) -> bool:
    try:
        return normalise_mobile(phone) == phone
    except NotLebaneseMobile:
        return False


def ticket_text(ticket: Ticket, language: str) -> str:
    number = f"{ticket.number[:4]} {ticket.number[4:]}"
    with force_locale(language):
        return _("1766: your complaint is registered under number %(number)s.", number=number)
