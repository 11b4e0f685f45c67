"""`users disable`, `enable`, `reset-password`, `list`, `set-role`: what an operator types and
reads, and nothing written when a command is refused."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.messages import Message
from core.reset_tokens import PasswordReset
from core.roles import Role
from core.users import StaffUser
from tests.plugins.cli import assert_refused, count, signs_in
from tests.support.factories import ELSEWHERE, HOME, PASSWORD, make_user

NEW_PASSWORD = "another long passphrase 9"


def account_named(db: Session, username: str) -> StaffUser:
    db.expire_all()
    return db.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def test_disable_ends_sign_in_and_enable_restores_it(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    db.commit()
    result = runner.invoke(args=["users", "disable", "Chiyah-Focal"])
    assert result.exit_code == 0, result.output
    assert "chiyah-focal: disabled; its sessions are ended" in result.output
    assert not signs_in(db, "chiyah-focal", PASSWORD)
    assert "already disabled" in runner.invoke(args=["users", "disable", "chiyah-focal"]).output
    result = runner.invoke(args=["users", "enable", "chiyah-focal"])
    assert "chiyah-focal: enabled" in result.output
    assert signs_in(db, "chiyah-focal", PASSWORD)


def test_the_last_admin_and_unknown_accounts_are_refused(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    make_user(db, Role.ADMIN, "LB", "root")
    db.commit()
    before = count(db, AuditEvent)
    assert_refused(runner.invoke(args=["users", "disable", "root"]), "last active admin")
    assert_refused(
        runner.invoke(args=["users", "set-role", "root", "--role", "ministry", "--area", "LB"]),
        "last active admin",
    )
    assert_refused(runner.invoke(args=["users", "disable", "nobody"]), "no account named 'nobody'")
    assert_refused(runner.invoke(args=["users", "enable", "../x"]), "no account named")
    assert_refused(runner.invoke(args=["users", "reset-password", "ghost"]), "no account named")
    assert account_named(db, "root").is_active
    assert count(db, AuditEvent) == before


def test_set_role_changes_role_and_area_with_an_audited_event(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    make_user(db, Role.MUKHTAR, HOME, "mukhtar-a")
    db.commit()
    args = ["users", "set-role", "mukhtar-a", "--role", "focal_point", "--area", ELSEWHERE]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert f"mukhtar-a: focal_point, {ELSEWHERE}" in result.output
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.role_changed")).one()
    assert json.loads(event.details)["old_area"] == HOME
    bad_role = ["users", "set-role", "mukhtar-a", "--role", "mayor", "--area", HOME]
    assert_refused(runner.invoke(args=bad_role), "unknown role 'mayor'")
    bad_area = ["users", "set-role", "mukhtar-a", "--role", "qaimaqam", "--area", HOME]
    assert_refused(runner.invoke(args=bad_area), "role qaimaqam needs a district area")
    assert account_named(db, "mukhtar-a").role is Role.FOCAL_POINT


def test_reset_password_shows_a_link_once_that_sets_the_password(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    make_user(db, Role.MINISTRY, "LB", "ministry-a")
    db.commit()
    result = runner.invoke(args=["users", "reset-password", "ministry-a"])
    assert result.exit_code == 0, result.output
    assert "valid 30 minutes, shown only now" in result.output
    url = re.search(r"https?://\S+/console/set-password/(\S+)", result.output)
    assert url, result.output
    stored = db.scalars(select(PasswordReset)).one()
    assert url.group(1) not in (stored.token_hash, stored.token_salt)


def test_reset_password_goes_by_sms_to_the_accounts_phone(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    user = make_user(db, Role.AGENT, "LB", "agent-a")
    user.phone = "+9613123456"
    db.commit()
    result = runner.invoke(args=["users", "reset-password", "agent-a"])
    assert result.exit_code == 0, result.output
    assert "sent by SMS to +9613•••456" in result.output
    message = db.scalars(select(Message).where(Message.purpose == "set_password")).one()
    assert "<reset " in message.body  # the token is put in only when it is sent
    shown = runner.invoke(args=["users", "reset-password", "agent-a", "--show"])
    assert "/console/set-password/" in shown.output


def test_list_prints_a_table_narrowed_by_the_options(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    make_user(db, Role.QAIMAQAM, "LB32", "baabda")
    make_user(db, Role.FOCAL_POINT, ELSEWHERE, "beirut-focal")
    db.commit()
    runner.invoke(args=["users", "disable", "beirut-focal"])
    result = runner.invoke(args=["users", "list", "--area", "LB32"])
    lines = result.output.splitlines()
    assert lines[0].split() == ["username", "role", "area", "state", "phone"]
    assert [line.split()[0] for line in lines[2:]] == ["baabda", "chiyah-focal"]
    disabled = runner.invoke(args=["users", "list", "--state", "disabled", "--role", "focal_point"])
    assert [line.split()[:4] for line in disabled.output.splitlines()[2:]] == [
        ["beirut-focal", "focal_point", ELSEWHERE, "disabled"]
    ]
    assert "no account matches" in runner.invoke(args=["users", "list", "--area", "LB7"]).output
    assert_refused(runner.invoke(args=["users", "list", "--role", "mayor"]), "unknown role")
    assert_refused(runner.invoke(args=["users", "list", "--state", "asleep"]), "asleep")
