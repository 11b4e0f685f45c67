"""Tickets: deadlines by category in working days, escalation on a controlled clock, decisions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.clock import BEIRUT
from core.db import utcnow
from core.programme import set_window
from core.roles import Role
from core.tickets import (
    DEFAULT_DEADLINES,
    Deadline,
    NoteRequired,
    TicketCategory,
    TicketClosed,
    TicketStatus,
    decide,
    escalate_overdue,
    open_ticket,
    parse_deadlines,
    tickets_visible_to,
)
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.households import submitted


def beirut(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIRUT)


@pytest.mark.parametrize(
    ("opened", "deadline", "due"),
    [
        ("2026-11-20 10:00", Deadline(3, True), "2026-11-25 10:00"),  # Friday: skip the weekend
        ("2026-11-23 16:30", Deadline(3, True), "2026-11-26 16:30"),  # Monday
        ("2026-11-21 09:00", Deadline(1, True), "2026-11-23 09:00"),  # Saturday: next is Monday
        ("2026-11-20 10:00", Deadline(24, False), "2026-11-21 10:00"),  # hours run on weekends
        ("2026-11-20 10:00", Deadline(7, True), "2026-12-01 10:00"),
    ],
)
def test_deadlines_count_working_days_in_beirut(opened: str, deadline: Deadline, due: str) -> None:
    assert deadline.due(beirut(opened)) == beirut(due)


def test_misconduct_is_due_within_a_day_and_others_within_working_days() -> None:
    assert DEFAULT_DEADLINES[TicketCategory.MISCONDUCT] == Deadline(24, False)
    assert all(
        d.working_days and d.amount in (3, 7)
        for c, d in DEFAULT_DEADLINES.items()
        if c is not TicketCategory.MISCONDUCT
    )


def test_deadlines_are_configured_by_category() -> None:
    deadlines = parse_deadlines("misconduct=12h, correction=5d")
    assert deadlines[TicketCategory.MISCONDUCT] == Deadline(12, False)
    assert deadlines[TicketCategory.CORRECTION] == Deadline(5, True)
    assert deadlines[TicketCategory.OTHER] == DEFAULT_DEADLINES[TicketCategory.OTHER]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("theft=1d", "unknown category 'theft'"),
        ("misconduct=soon", "write hours as 24h"),
        ("misconduct=0h", "between 1 and 999"),
        ("misconduct=3w", "write hours as 24h"),
    ],
)
def test_a_bad_deadline_setting_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_deadlines(text)


def test_overdue_tickets_escalate_once_on_a_controlled_clock(db: Session) -> None:
    load_sample_geography(db)
    misconduct = open_ticket(
        db, phone="+9613000001", channel="sms", language="ar", category=TicketCategory.MISCONDUCT
    )
    other = open_ticket(
        db, phone="+9613000002", channel="sms", language="ar", category=TicketCategory.OTHER
    )
    closed = open_ticket(
        db, phone="+9613000003", channel="sms", language="ar", category=TicketCategory.MISCONDUCT
    )
    decide(db, closed, TicketStatus.RESOLVED, "Answered by phone.", "agent-x")
    assert misconduct.due_at is not None and other.due_at is not None
    assert escalate_overdue(db, misconduct.due_at - timedelta(seconds=1)) == 0
    at_deadline = misconduct.due_at
    assert escalate_overdue(db, at_deadline) == 1  # the closed one is not escalated
    db.expire_all()
    assert misconduct.escalated_at == at_deadline and other.escalated_at is None
    assert escalate_overdue(db, at_deadline + timedelta(hours=1)) == 0  # once only
    supervisor = make_user(db, Role.COMMITTEE, "LB")
    assert [t.id for t in tickets_visible_to(db, supervisor, overdue_only=True)] == [misconduct.id]
    assert escalate_overdue(db, other.due_at + timedelta(minutes=1)) == 1
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "ticket.escalated").order_by(AuditEvent.seq)
    ).all()
    assert [(e.actor, e.object_id) for e in events] == [
        ("system", str(misconduct.id)),
        ("system", str(other.id)),
    ]


def test_a_ticket_belongs_to_the_callers_application_and_its_area(db: Session) -> None:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "test")
    application = submitted(db, 1, phone="+9613123456")
    ticket = open_ticket(
        db, phone="+9613123456", channel="ivr", language="ar", category=TicketCategory.OTHER
    )
    stranger = open_ticket(
        db, phone="+9613999999", channel="ivr", language="ar", category=TicketCategory.OTHER
    )
    assert (ticket.application_id, ticket.locality_code) == (application.id, HOME)
    assert (stranger.application_id, stranger.locality_code) == (None, None)
    focal = make_user(db, Role.FOCAL_POINT, HOME)
    assert [t.id for t in tickets_visible_to(db, focal)] == [ticket.id]


def test_a_decision_needs_a_note_and_is_taken_once(db: Session) -> None:
    ticket = open_ticket(
        db, phone="+9613000001", channel="sms", language="fr", category=TicketCategory.OTHER
    )
    with pytest.raises(NoteRequired):
        decide(db, ticket, TicketStatus.RESOLVED, "   ", "agent-x")
    decide(db, ticket, TicketStatus.REFERRED, "Sent to the municipality of Chiyah.", "agent-x")
    assert ticket.status == "referred" and ticket.closed_at is not None
    with pytest.raises(TicketClosed):
        decide(db, ticket, TicketStatus.RESOLVED, "again", "agent-x")
