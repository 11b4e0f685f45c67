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
from core.links import Channel, issue_link, stored_url
from core.notifications import Owing, Sms, may_text, owe_text
from core.phones import NotLebaneseMobile, normalise_mobile
from core.references import grouped
from core.settings import Settings
from core.sms_policy import Occasion, Withheld
from core.tickets import Ticket, TicketCategory, open_ticket
from scoring.explain import published_entry
from scoring.lists import ListEntry, Outcome
from texts.lists import reason_text

LANGUAGES = ("ar", "en", "fr")


@dataclass(frozen=True)
class Owed:
    """SMS owed by what was just done, to enqueue once the transaction commits.

    `withheld` says why the SMS the request called for was not sent (STOP, the daily cap).
    """

    message_ids: tuple[int, ...] = ()
    withheld: Withheld | None = None

    @classmethod
    def of(cls, owing: Owing) -> Owed:
        return cls(owing.to_dispatch, owing.withheld)


def send_form_link(
    session: Session, phone: str, language: str, settings: Settings, asked_from: str | None
) -> Owed:
    """A one-time form link by SMS to `phone` (a Lebanese mobile, already normalised).

    The console's rules hold: the programme window (`OutsideWindow`), one active link per
    number and three a day (`TooManyLinks`); the caller translates those refusals. A link
    asked for from `phone` itself answers its own request; one keyed in for another phone is
    a notice to it, under the daily cap. When the SMS would be withheld no link is issued
    (an unread link would only replace the one the phone holds).
    """
    occasion = Occasion.ANSWER if asked_from == phone else Occasion.NOTICE
    refused = may_text(session, phone, occasion)
    if refused is not None:
        return Owed(withheld=refused)
    link, _token = issue_link(
        session,
        None,
        phone,
        language,
        Channel.HOTLINE,
        settings.link_ttl_days,
        token_key=settings.secret_key,
    )
    with force_locale(language):
        body = _(
            "1766: fill the assistance form once, here: %(url)s",
            url=stored_url(settings.public_base_url, link),
        )
    owing = owe_text(session, Sms(phone, body, language, "form_link"), occasion)
    link.message_id = owing.message_id
    return Owed.of(owing)


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
    """The status by SMS to the phone on the application (never to whoever asked).

    Always a notice: whoever asked from another phone, the family did not ask for it, so
    STOP and the daily cap decide (core/sms_policy.py), on the IVR as on SMS.
    """
    sms = Sms(application.phone, status_text(application, language), language, "status")
    return Owed.of(owe_text(session, sms, Occasion.NOTICE))


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
    if not is_lebanese_mobile(phone):  # a landline or a withheld number cannot take an SMS
        return ticket, Owed()
    # The caller's own complaint, from its own phone: an answer, exempt from the cap.
    sms = Sms(phone, ticket_text(ticket, language), language, "ticket")
    return ticket, Owed.of(owe_text(session, sms, Occasion.ANSWER))


def is_lebanese_mobile(phone: str) -> bool:
    try:
        return normalise_mobile(phone) == phone
    except NotLebaneseMobile:
        return False


def ticket_text(ticket: Ticket, language: str) -> str:
    number = f"{ticket.number[:4]} {ticket.number[4:]}"
    with force_locale(language):
        return _("1766: your complaint is registered under number %(number)s.", number=number)
