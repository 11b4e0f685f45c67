"""Logging a correction for the committee, and the committee's decision on it.

The circular has a committee — never the person who took the call — make the change.
Approval makes a new version of the application (the old one is kept) and owes a new score;
rejection keeps the application as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from core import audit
from core.applications import Application
from core.correction_changes import MAX_REASON, Change, apply_changes, as_text
from core.corrections import CorrectionRequest, CorrectionSource, CorrectionStatus
from core.db import utcnow
from core.roles import Permission, can
from core.scopes import Viewer
from core.submissions import revise
from core.tickets import Ticket, TicketStatus, link_application


class OwnCorrection(PermissionError):
    """The committee member logged this correction: someone else must decide it."""


class NotCommittee(PermissionError):
    """Only the committee decides corrections."""


class AlreadyDecided(Exception):
    """The correction has been approved or rejected already."""


class StaleCorrection(Exception):
    """The application changed since the correction was logged: it must be logged again."""


class ReasonRequired(ValueError):
    """A rejection is sent to the citizen with its reason; it cannot be empty."""


# --- logging and deciding -----------------------------------------------------------------


def log_correction(
    session: Session,
    ticket: Ticket,
    application: Application,
    changes: Iterable[Change],
    *,
    source: CorrectionSource,
    logged_by_id: int | None,
    actor: str,
    today: date,
) -> CorrectionRequest:
    """Check the changes against the form's rules and store them for the committee."""
    _pages, records = apply_changes(session, application.pages(), changes, today=today)
    if ticket.application_id != application.id:
        link_application(ticket, application)
    correction = CorrectionRequest(
        ticket_id=ticket.id,
        application_id=application.id,
        base_version=application.version,
        source=source,
        changes=json.dumps(records, ensure_ascii=False),
        status=CorrectionStatus.PENDING,
        logged_by_id=logged_by_id,
        created_at=utcnow(),
        governorate_code=application.governorate_code,
        district_code=application.district_code,
        locality_code=application.locality_code,
    )
    session.add(correction)
    if ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.IN_PROGRESS
    session.flush()
    audit.record(
        session,
        actor,
        "correction.logged",
        "correction",
        str(correction.id),
        {"application": application.id, "fields": len(records), "ticket": ticket.id},
    )
    return correction


class Decider(Viewer, Protocol):
    """A committee member deciding: an id to compare with whoever logged the correction."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...


def decide_correction(
    session: Session,
    correction: CorrectionRequest,
    decider: Decider,
    *,
    approve: bool,
    note: str,
    today: date,
) -> Application:
    """Approve (a new version, a new score owed) or reject (with the reason) a correction.

    Raises `NotCommittee`, `OwnCorrection`, `AlreadyDecided`, `StaleCorrection`,
    `ReasonRequired`, or on approval `CorrectionInvalid` / `DuplicateFamily`; the caller rolls
    back on any of them. The ticket is closed with the decision; the adapter tells the citizen.
    """
    if not can(decider.role, Permission.DECIDE_CORRECTIONS):
        raise NotCommittee()
    if correction.logged_by_id is not None and correction.logged_by_id == decider.id:
        raise OwnCorrection()
    if correction.status != CorrectionStatus.PENDING:
        raise AlreadyDecided()
    application = session.get_one(Application, correction.application_id, with_for_update=True)
    note = note.strip()[:MAX_REASON]
    if approve:
        _approve(session, correction, application, today)
    elif not note:
        raise ReasonRequired()
    correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
    correction.decided_by_id, correction.decided_at = decider.id, utcnow()
    correction.decision_note = note or None
    _close_ticket(session, correction, approve, note)
    audit.record(
        session,
        decider.username,
        f"correction.{correction.status}",
        "correction",
        str(correction.id),
        {"application": application.id, "version": application.version},
    )
    return application


def _approve(
    session: Session,
    correction: CorrectionRequest,
    application: Application,
    today: date,
) -> None:
    if application.version != correction.base_version:
        raise StaleCorrection()
    changes = [
        Change(c["field"], as_text(c["new"]), c["reason"], c["proof"])
        for c in correction.change_list()
    ]
    pages, _records = apply_changes(session, application.pages(), changes, today=today)
    # The new version has no score yet: the adapter enqueues it after the commit, and
    # `scoring sweep` finds it unscored if the queue was down.
    revise(session, application, pages, correction.id)


def _close_ticket(
    session: Session, correction: CorrectionRequest, approve: bool, note: str
) -> None:
    ticket = session.get(Ticket, correction.ticket_id)
    if ticket is None or ticket.is_closed:
        return
    ticket.status = TicketStatus.RESOLVED if approve else TicketStatus.REJECTED
    ticket.resolution, ticket.closed_at = note or None, utcnow()
