"""The focal point's review of a flag: send it to the committee, or clear it.

Circular §4.2b: the municipality answers for what its helpers entered, so its focal point
reads each flag and decides. A confirmed flag lands where 1766 already works: a ticket in the
complaint room (a correction, or a complaint), and, when the focal point names the fields to
correct, a correction request that the committee decides as any other — never the focal
point, who is recorded as the one who logged it. A cleared flag keeps the reason it was
cleared. Either way the flag is decided once; the decision is never edited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy.orm import Session

from core import audit, fields
from core.applications import Application
from core.correction_changes import Change
from core.correction_decisions import log_correction
from core.corrections import CorrectionRequest, CorrectionSource
from core.db import utcnow
from core.fields import FieldError, FormInput
from core.flags import MAX_REASON, ApplicationFlag, Flagger, FlagInvalid, FlagStatus
from core.roles import Permission
from core.scopes import covers
from core.tickets import (
    DEFAULT_DEADLINES,
    Deadline,
    Ticket,
    TicketCategory,
    TicketChannel,
    open_ticket,
)


class SentAs(StrEnum):
    """Where the focal point sends a confirmed flag."""

    CORRECTION = "correction"  # the data are wrong: the committee corrects them
    COMPLAINT = "complaint"  # fraud or a move: the room looks into it and decides


class FlagDecided(Exception):
    """The flag was confirmed or cleared already; a flag is reviewed once."""


class NotAReviewer(PermissionError):
    """Only the focal point of the flag's municipality reviews it."""


@dataclass(frozen=True)
class Review:
    """What the focal point posted: where to send the flag (or None to clear) and a note."""

    sent_as: SentAs | None
    note: str


_NOTE = fields.optional(fields.paragraphs(MAX_REASON))
_REQUIRED_NOTE = fields.paragraphs(MAX_REASON)


def clean_review(form: FormInput, *, clearing: bool) -> Review:
    """A confirmation (where to, an optional note) or a clearing (its reason is required)."""
    context = fields.Context(utcnow().date(), locality_exists=lambda _code: False)
    cleaners: dict[str, fields.Cleaner] = {"note": _REQUIRED_NOTE if clearing else _NOTE}
    if not clearing:
        cleaners["sent_as"] = fields.choice(tuple(SentAs))
    data, errors = fields.clean_fields(cleaners, form, context)
    if errors:
        raise FlagInvalid(errors)
    sent_as = None if clearing else SentAs(data["sent_as"])
    return Review(sent_as, data["note"] or "")


def _check(reviewer: Flagger, flag: ApplicationFlag) -> None:
    if not covers(reviewer, flag, Permission.REVIEW_FLAGS):
        raise NotAReviewer()
    if not flag.is_open:
        raise FlagDecided()


def clear_flag(session: Session, reviewer: Flagger, flag: ApplicationFlag, note: str) -> None:
    """Nothing wrong was found: the flag closes with the reason, nothing is sent."""
    _check(reviewer, flag)
    if not note.strip():
        raise FlagInvalid([FieldError("note", fields.ErrorCode.REQUIRED)])
    _decide(flag, reviewer, FlagStatus.CLEARED, note.strip())
    details = {"application": flag.application_id}
    audit.record(session, reviewer.username, "flag.cleared", "flag", str(flag.id), details)


def confirm_flag(
    session: Session,
    reviewer: Flagger,
    flag: ApplicationFlag,
    review: Review,
    changes: Sequence[Change] = (),
    *,
    today: date,
    deadlines: Mapping[TicketCategory, Deadline] = DEFAULT_DEADLINES,
) -> Ticket:
    """Send the flag to 1766: a ticket, and a correction request when fields are named.

    Raises `NotAReviewer`, `FlagDecided`, or (for the fields) `CorrectionInvalid` /
    `NothingToCorrect`; the caller rolls back on any of them. No SMS is sent: the family is
    told by the room once something is decided, as for any ticket on its application.
    """
    _check(reviewer, flag)
    if review.sent_as is None:
        raise ValueError("a confirmation says where the flag goes")
    application = session.get_one(Application, flag.application_id)
    ticket = _ticket(session, reviewer, flag, application, review.sent_as, deadlines)
    correction = None
    if review.sent_as is SentAs.CORRECTION and changes:
        correction = _correction(session, reviewer, ticket, application, changes, today)
    _decide(flag, reviewer, FlagStatus.CONFIRMED, review.note)
    flag.sent_as, flag.ticket_id = review.sent_as, ticket.id
    flag.correction_id = correction.id if correction else None
    audit.record(session, reviewer.username, "ticket.opened", "ticket", str(ticket.id))
    details = {
        "application": application.id,
        "sent_as": review.sent_as.value,
        "ticket": ticket.id,
        "correction": correction.id if correction else None,
    }
    audit.record(session, reviewer.username, "flag.confirmed", "flag", str(flag.id), details)
    return ticket


def _decide(flag: ApplicationFlag, reviewer: Flagger, status: FlagStatus, note: str) -> None:
    flag.status, flag.reviewed_by_id, flag.reviewed_at = status, reviewer.id, utcnow()
    flag.review_note = note or None


# The room's category for each destination: a correction waits for the committee; a
# complaint about fraud or a move is the room's to look into ("other" is what it triages).
_CATEGORIES = {SentAs.CORRECTION: TicketCategory.CORRECTION, SentAs.COMPLAINT: TicketCategory.OTHER}


def _ticket(
    session: Session,
    reviewer: Flagger,
    flag: ApplicationFlag,
    application: Application,
    sent_as: SentAs,
    deadlines: Mapping[TicketCategory, Deadline],
) -> Ticket:
    """The ticket the room follows; its text says it came from a municipality's flag."""
    return open_ticket(
        session,
        phone=application.phone,
        channel=TicketChannel.STAFF,  # the family did not complain: it is not texted
        language=application.language,
        category=_CATEGORIES[sent_as],
        text=f"[flag {flag.id}: {flag.kind}] {flag.reason}",
        application=application,
        logged_by_id=reviewer.id,
        deadlines=deadlines,
    )


def _correction(
    session: Session,
    reviewer: Flagger,
    ticket: Ticket,
    application: Application,
    changes: Sequence[Change],
    today: date,
) -> CorrectionRequest:
    return log_correction(
        session,
        ticket,
        application,
        changes,
        source=CorrectionSource.AGENT,
        logged_by_id=reviewer.id,
        actor=reviewer.username,
        today=today,
    )
