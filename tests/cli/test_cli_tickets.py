"""`tickets escalate` (the escalator process) and `users phone` (the phone an agent answers)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import cli.complaints
from core.db import utcnow
from core.tickets import Ticket, TicketCategory, escalate_overdue, open_ticket
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


def test_a_repeated_escalation_waits_out_a_store_outage(
    runner: FlaskCliRunner,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With --every, a round that cannot reach the store is logged and the next one runs; the
    escalator process no longer dies with the store (as the relay never did)."""
    late = open_ticket(
        db, phone="+9613000001", channel="sms", language="ar", category=TicketCategory.OTHER
    )
    late.due_at = utcnow() - timedelta(minutes=1)
    db.commit()
    rounds: list[str] = []

    def escalate(session: Session) -> int:
        rounds.append("round")
        if len(rounds) == 1:
            raise OperationalError("SELECT", {}, ConnectionRefusedError("the store is away"))
        return escalate_overdue(session)

    class Stopped(Exception):
        """Ends the endless loop once the second round is done."""

    def sleep(seconds: float) -> None:
        assert seconds == 60
        if len(rounds) == 2:
            raise Stopped

    monkeypatch.setattr(cli.complaints, "escalate_overdue", escalate)
    monkeypatch.setattr(time, "sleep", sleep)
    with caplog.at_level(logging.WARNING, logger="cli.common"):
        result = runner.invoke(args=["tickets", "escalate", "--every", "60"])
    assert isinstance(result.exception, Stopped), result.output
    assert len(rounds) == 2 and result.output.strip() == "escalated 1"
    assert "tickets escalate paused: StoreUnreachable" in caplog.text
