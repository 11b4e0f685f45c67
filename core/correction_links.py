"""The citizen's correction link: a one-time link to propose changes to an application.

What the citizen sends through it lands as a ticket and a correction for the committee, as
if an agent had logged it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from sqlalchemy.orm import Session

from core.applications import Application
from core.correction_changes import Change, apply_changes
from core.correction_decisions import log_correction
from core.corrections import CorrectionRequest, CorrectionSource
from core.db import utcnow
from core.link_lifecycle import DEFAULT_TTL_DAYS, consume_correction_link, one_active_link_per_phone
from core.link_tokens import hash_token, new_token
from core.links import Channel, Link, LinkUnavailable
from core.tickets import (
    DEFAULT_DEADLINES,
    Deadline,
    Ticket,
    TicketCategory,
    TicketChannel,
    open_ticket,
)


def issue_correction_link(
    session: Session,
    application: Application,
    ttl_days: int = DEFAULT_TTL_DAYS,
    *,
    token_key: str | None = None,
) -> tuple[Link, str]:
    """A one-time link to the application's phone, to propose corrections (token shown once).

    The rules of form links hold: only the hash is kept (`token_key` as in `issue_link`),
    three links a day to a phone, and a new link replaces the ones still open. The round's
    window does not apply.
    """
    now = utcnow()
    one_active_link_per_phone(session, application.phone, now)
    token, salt = new_token(token_key)
    link = Link(
        token_hash=hash_token(token),
        token_salt=salt,
        channel=Channel.CORRECTION,
        programme_id=application.programme_id,
        sender_id=None,
        phone=application.phone,
        language=application.language,
        draft="{}",
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
        application_id=application.id,
        governorate_code=application.governorate_code,
        district_code=application.district_code,
        locality_code=application.locality_code,
    )
    session.add(link)
    session.flush()
    return link, token


def correction_link_application(session: Session, link: Link) -> Application:
    """The application a usable correction link corrects; `LinkUnavailable` otherwise."""
    application = session.get(Application, link.application_id) if link.application_id else None
    if link.channel != Channel.CORRECTION or application is None or not link.is_usable():
        raise LinkUnavailable()
    return application


def submit_citizen_correction(
    session: Session,
    link: Link,
    changes: Iterable[Change],
    *,
    today: date,
    deadlines: Mapping[TicketCategory, Deadline] = DEFAULT_DEADLINES,
) -> tuple[Ticket, CorrectionRequest]:
    """What the citizen sent through the link: a ticket and a correction for the committee.

    The changes are checked before the link is used, so a refused one can be fixed and sent
    again; the link is then consumed in the same transaction (once only).
    """
    application = correction_link_application(session, link)
    apply_changes(session, application.pages(), changes, today=today)
    consume_correction_link(session, link)
    ticket = open_ticket(
        session,
        phone=application.phone,
        channel=TicketChannel.WEB,
        language=link.language,
        category=TicketCategory.CORRECTION,
        application=application,
        deadlines=deadlines,
    )
    correction = log_correction(
        session,
        ticket,
        application,
        changes,
        source=CorrectionSource.CITIZEN,
        logged_by_id=None,
        actor="citizen",
        today=today,
    )
    return ticket, correction
