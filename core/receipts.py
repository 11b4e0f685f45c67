"""The SMS the form side owes citizens: the acknowledgement, a correction's ticket, the link.

Each is owed in the caller's transaction, composed by the caller's `compose` (texts.sms) in
the citizen's language and stored with the message at commit; the worker only sends what was
stored.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.applications import Application
from core.geography import Locality, locality_area
from core.link_tokens import stored_url
from core.links import Link
from core.notifications import Owing, Sms, owe_text
from core.sayings import Compose, CorrectionTicket, MunicipalityLink, Receipt
from core.sms_policy import Occasion
from core.tickets import Ticket


def owe_receipt(session: Session, application: Application, compose: Compose) -> int:
    """Circular part 5.1(g): an SMS tells the family its form was received, with the reference."""
    body = compose(Receipt(application.reference), application.language)
    sms = Sms(application.phone, body, application.language, "receipt", application.area())
    # The family's own submission: an answer, exempt from the daily cap (not from STOP).
    return owe_text(session, sms, Occasion.ANSWER).message_id


def owe_correction_ticket(
    session: Session, application: Application, ticket: Ticket, language: str, compose: Compose
) -> int:
    """The ticket number of a correction sent through a link, to the application's phone."""
    body = compose(CorrectionTicket(ticket.number), language)
    sms = Sms(application.phone, body, language, "correction_ticket", application.area())
    # The family's own correction, sent through its link: an answer, like the receipt.
    return owe_text(session, sms, Occasion.ANSWER).message_id


def owe_link_sms(session: Session, link: Link, public_base_url: str, compose: Compose) -> Owing:
    """The one-time link, signed with the municipality's name so the citizen trusts it.

    A notice (the municipality sent it), so STOP and the daily cap apply; the stored text
    holds the link's id where its token goes (core/links.py), never the token.
    """
    if link.phone is None or link.locality_code is None:
        raise ValueError("only a link sent to a phone from a municipality has an SMS")
    place = session.get(Locality, link.locality_code)
    url = stored_url(public_base_url, link)
    said = MunicipalityLink(url, place.name_ar, place.name_en) if place else MunicipalityLink(url)
    area = locality_area(session, link.locality_code)
    sms = Sms(link.phone, compose(said, link.language), link.language, "form_link", area)
    owing = owe_text(session, sms, Occasion.NOTICE)
    link.message_id = owing.message_id
    return owing
