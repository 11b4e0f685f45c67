"""`tickets escalate` (the escalator process) and `users phone` (the phone an agent answers)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.tickets import Ticket, TicketCategory, open_ticket
from core.users import StaffUser
from tests.plugins.cli import GOOD_PASSWORD, add_user_args, assert_refused


def test_escalate_marks_each_overdue_ticket_once(runner: FlaskCliRunner, db: Session) -> None:
    late = open_ticket(
        db, phone="+9613000001", channel="sms", language="ar", category=TicketCategory.MISCONDUCT
    )
    open_ticket(
        db, phone="+9613000002", channel="sms", language="ar", category=TicketCategory.OTHER
    )
    late.due_at = utcnow() - timedelta(minutes=1)
    db.commit()
    first = runner.invoke(args=["tickets", "escalate"])
    assert (first.exit_code, first.output.strip()) == (0, "escalated 1")
    again = runner.invoke(args=["tickets", "escalate"])
    assert again.output.strip() == "escalated 0"
    db.expire_all()
    escalated = db.scalars(select(Ticket).where(Ticket.escalated_at.is_not(None))).all()
    assert [t.id for t in escalated] == [late.id]


def test_an_agents_phone_is_set_at_creation_or_later(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    args = [*add_user_args("agent-x", "agent", "LB"), "--phone", "01 123 456"]
    created = runner.invoke(args=args, input=GOOD_PASSWORD)
    assert created.exit_code == 0, created.output
    user = db.scalars(select(StaffUser).where(StaffUser.username == "agent-x")).one()
    assert user.phone == "+9611123456"  # a desk line is fine: it is called, not texted
    changed = runner.invoke(args=["users", "phone", "agent-x", "٠٣ ١٢٣ ٤٥٦"])
    assert changed.exit_code == 0, changed.output
    db.expire_all()
    assert user.phone == "+9613123456"
    assert_refused(
        runner.invoke(args=["users", "phone", "agent-x", "+33 1 23 45 67 89"]), "not a Lebanese"
    )
    assert_refused(runner.invoke(args=["users", "phone", "nobody", "03 123 456"]), "no account")
