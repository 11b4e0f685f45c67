"""The SMS the form side owes citizens: the link, the acknowledgement, a correction's ticket.

Texts are composed here, in the citizen's language, and stored with the message at commit;
the worker only sends what was stored.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.applications import Application
from core.geography import Locality, locality_area
from core.links import Link, stored_url
from core.notifications import Owing, Sms, owe_text
from core.references import grouped
from core.segments import strip_invisibles
from core.sms_policy import Occasion
from core.tickets import Ticket


def owe_receipt(session: Session, application: Application) -> int:
    """Circular part 5.1(g): an SMS tells the family its form was received, with the reference."""
    with force_locale(application.language):
        body = _(
            "1766: your form was received. Reference %(reference)s. Keep this SMS.",
            reference=grouped(application.reference),
        )
    sms = Sms(
        application.phone,
        strip_invisibles(body),
        application.language,
        "receipt",
        application.area(),
    )
    # The family's own submission: an answer, exempt from the daily cap (not from STOP).
    return owe_text(session, sms, Occasion.ANSWER).message_id


def ticket_number(ticket: Ticket) -> str:
    """`1234 5678`: the way the number is said and written to the citizen."""
    return f"{ticket.number[:4]} {ticket.number[4:]}"


def owe_correction_ticket(
    session: Session, application: Application, ticket: Ticket, language: str
) -> int:
    """The ticket number of a correction sent through a link, to the application's phone."""
    with force_locale(language):
        body = _(
            "1766: your correction request is registered under number %(number)s. "
            "You will receive the committee's decision by SMS.",
            number=ticket_number(ticket),
        )
    sms = Sms(application.phone, body, language, "correction_ticket", application.area())
    # The family's own correction, sent through its link: an answer, like the receipt.
    return owe_text(session, sms, Occasion.ANSWER).message_id


def owe_link_sms(session: Session, link: Link, public_base_url: str) -> Owing:
    """The one-time link, signed with the municipality's name so the citizen trusts it.

    A notice (the municipality sent it), so STOP and the daily cap apply; the stored text
    holds the link's id where its token goes (core/links.py), never the token.
    """
    if link.phone is None or link.locality_code is None:
        raise ValueError("only a link sent to a phone from a municipality has an SMS")
    place = session.get(Locality, link.locality_code)
    with force_locale(link.language):
        name = (place.name_ar if link.language == "ar" else place.name_en) if place else ""
        body = _(
            "%(place)s municipality: fill the assistance form once, here: %(url)s",
            place=name,
            url=stored_url(public_base_url, link),
        )
    area = locality_area(session, link.locality_code)
    sms = Sms(link.phone, strip_invisibles(body), link.language, "form_link", area)
    owing = owe_text(session, sms, Occasion.NOTICE)
    link.message_id = owing.message_id
    return owing
