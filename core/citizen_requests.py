"""What 1766 does for a citizen by voice or SMS: a form link, a status, a complaint, a call back.

The IVR (`ivr/errands.py`) and the SMS keywords (`sms/keyword_work.py`) are two ways of asking
for the same things; both call these functions, which work in the caller's transaction and
return what to tell the citizen (a key of `core.sayings`, which each adapter renders in its
own words, spoken or written) and the ids of the SMS they owe, to be dispatched after the
commit. The SMS themselves are written by the `compose` the caller passes (texts.sms.compose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from core.applications import Application
from core.callback_requests import request_callback
from core.link_lifecycle import OutsideWindow, TooManyLinks, issue_link
from core.link_tokens import stored_url
from core.links import Channel
from core.notifications import Owing, Sms, may_text, owe_text
from core.phones import NotLebaneseMobile, normalise_mobile
from core.sayings import ComplaintTicket, Compose, FormLink, Reply, Saying, Status
from core.settings import Settings
from core.sms_policy import Occasion, Withheld
from core.tickets import Ticket, TicketCategory, open_ticket

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


Said = TypeVar("Said", bound=Saying)


@dataclass(frozen=True)
class Done(Generic[Said]):
    """What a request came to: what to tell whoever asked, and the SMS it owes."""

    said: Said
    owed: Owed = field(default_factory=Owed)


WITHHELD_REPLIES = {Withheld.STOPPED: Reply.SMS_STOPPED, Withheld.DAILY_CAP: Reply.SMS_CAPPED}


def send_form_link(
    session: Session,
    phone: str,
    language: str,
    settings: Settings,
    asked_from: str | None,
    compose: Compose,
) -> Done[Reply]:
    """A one-time form link by SMS to `phone` (a Lebanese mobile, already normalised).

    The console's rules hold: the programme window, one active link per number and three a
    day; each refusal is said (WINDOW_CLOSED, TOO_MANY_LINKS). A link asked for from `phone`
    itself answers its own request; one keyed in for another phone is a notice to it, under
    the daily cap. When the SMS would be withheld no link is issued (an unread link would only
    replace the one the phone holds).
    """
    occasion = Occasion.ANSWER if asked_from == phone else Occasion.NOTICE
    refused = may_text(session, phone, occasion)
    if refused is not None:
        return Done(WITHHELD_REPLIES[refused], Owed(withheld=refused))
    try:
        link, _token = issue_link(
            session,
            None,
            phone,
            language,
            Channel.HOTLINE,
            settings.link_ttl_days,
            token_key=settings.secret_key,
        )
    except OutsideWindow:
        return Done(Reply.WINDOW_CLOSED)
    except TooManyLinks:
        return Done(Reply.TOO_MANY_LINKS)
    body = compose(FormLink(stored_url(settings.public_base_url, link)), language)
    owing = owe_text(session, Sms(phone, body, language, "form_link"), occasion)
    link.message_id = owing.message_id
    return Done(Reply.LINK_SENT, Owed.of(owing))


def ask_status(
    session: Session,
    application: Application,
    status: Status,
    asked_from: str | None,
    compose: Compose,
) -> Done[Status] | Done[Reply]:
    """The status itself to the application's own phone; to anyone else, a word that it was
    sent by SMS to that phone (the family reads it, a stranger learns nothing)."""
    if asked_from == application.phone:
        return Done(status)
    return send_status(session, application, status, compose)


def send_status(
    session: Session, application: Application, status: Status, compose: Compose
) -> Done[Reply]:
    """The status by SMS to the phone on the application, in its language.

    Always a notice: whoever asked from another phone, the family did not ask for it, so
    STOP and the daily cap decide (core/sms_policy.py), on the IVR as on SMS.
    """
    body = compose(status, application.language)
    sms = Sms(application.phone, body, application.language, "status")
    return Done(Reply.STATUS_SENT, Owed.of(owe_text(session, sms, Occasion.NOTICE)))


def file_ticket(
    session: Session,
    *,
    phone: str,
    channel: str,
    language: str,
    category: TicketCategory,
    settings: Settings,
    compose: Compose,
    text: str | None = None,
    recording_url: str | None = None,
) -> tuple[Ticket, Done[ComplaintTicket]]:
    """A complaint or correction ticket, and the SMS that gives the caller its number."""
    ticket = open_ticket(
        session,
        phone=phone,
        channel=channel,
        language=language,
        category=category,
        text=text,
        recording_url=recording_url,
        deadlines=settings.ticket_deadlines,
    )
    said = ComplaintTicket(ticket.number)
    if not is_lebanese_mobile(phone):  # a landline or a withheld number cannot take an SMS
        return ticket, Done(said)
    # The caller's own complaint, from its own phone: an answer, exempt from the cap.
    sms = Sms(phone, compose(said, language), language, "ticket")
    return ticket, Done(said, Owed.of(owe_text(session, sms, Occasion.ANSWER)))


def ask_callback(
    session: Session, phone: str, language: str, town_recording_url: str | None
) -> Done[Reply]:
    """A volunteer is to call back and fill the form with the caller."""
    request_callback(session, phone=phone, language=language, town_recording_url=town_recording_url)
    return Done(Reply.CALLBACK_NOTED)


def is_lebanese_mobile(phone: str) -> bool:
    try:
        return normalise_mobile(phone) == phone
    except NotLebaneseMobile:
        return False
