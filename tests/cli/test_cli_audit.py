"""`audit verify`: the hash chain of the audit trail checks out after real CLI actions."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from tests.plugins.cli import GOOD_PASSWORD, add_user_args, count
from tests.support.factories import HOME

# --- audit verify --------------------------------------------------------------------------


def test_audit_verify_on_an_intact_trail(runner: FlaskCliRunner, db: Session, geo: None) -> None:
    """After real CLI actions the chain checks out, counting every event."""
    assert count(db, AuditEvent) == 0
    empty = runner.invoke(args=["audit", "verify"])
    assert (empty.exit_code, "audit trail intact: 0 events" in empty.output) == (0, True)
    added = runner.invoke(args=add_user_args("alice", "focal_point", HOME), input=GOOD_PASSWORD)
    assert added.exit_code == 0, added.output
    window = ["programme", "set", "--opens", "2020-04-20", "--closes", "2020-05-04T24:00"]
    assert runner.invoke(args=window).exit_code == 0
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 2 events" in result.output
