"""`users reset-second-factor USERNAME`: a lost factor removed, audited, sessions ended."""

from __future__ import annotations

import pyotp
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core import second_factor as factors
from core.audit import AuditEvent
from core.roles import Role
from tests.support.factories import make_user

KEY = "the key of this test, long enough to be a key"


def test_an_operator_resets_a_lost_second_factor(runner: FlaskCliRunner, db: Session) -> None:
    user = make_user(db, Role.COMMITTEE, "LB", username="committee-1")
    secret = factors.enrolment_secret(db, user, KEY)
    factors.confirm(db, user, pyotp.TOTP(secret).at(clock.now()), KEY)
    epoch = user.session_epoch
    db.commit()
    result = runner.invoke(args=["users", "reset-second-factor", "Committee-1"])
    assert result.exit_code == 0, result.output
    assert "second factor removed" in result.output and "sets one up again" in result.output
    db.expire_all()
    assert not factors.is_confirmed(db, user.id)
    assert user.session_epoch == epoch + 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "second_factor.reset"))
    assert event is not None and event.actor.startswith("cli")
    assert event.object_id == str(user.id)


def test_an_unknown_or_hostile_name_is_refused_and_nothing_is_written(
    runner: FlaskCliRunner, db: Session
) -> None:
    for name in ("nobody-here", "x" * 5000, "a'; DROP TABLE staff_users; --"):
        result = runner.invoke(args=["users", "reset-second-factor", name])
        assert result.exit_code != 0
        assert "no account named" in result.output
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "second_factor.reset")) is None
