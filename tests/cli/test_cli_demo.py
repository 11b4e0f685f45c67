"""`demo`: one working account per role in development only, with passwords reset on rerun."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.audit import AuditEvent
from core.geography import Locality
from core.programme import Programme, current_programme
from core.roles import Role
from core.settings import Environment
from core.users import StaffUser
from tests.conftest import settings_for
from tests.plugins.cli import assert_refused, count, signs_in

# --- helpers -------------------------------------------------------------------------------


def printed_demo_accounts(output: str) -> dict[str, tuple[str, str, str]]:
    """username -> (password, role, area) from the table `demo` prints."""
    lines = output.split("demo sign-ins (username / password / role / area):\n", 1)[1]
    accounts = {}
    for line in lines.splitlines():
        username, password, role, area = line.split()
        accounts[username] = (password, role, area)
    return accounts


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def dev_runner(engine: Engine, session_factory: sessionmaker[Session]) -> FlaskCliRunner:
    """The CLI of an app whose settings say development, on the test's transaction."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(
        settings_for(url, environment=Environment.DEVELOPMENT), session_factory=session_factory
    )
    return app.test_cli_runner()


# --- demo ----------------------------------------------------------------------------------


def test_demo_refuses_outside_development(runner: FlaskCliRunner, db: Session) -> None:
    """On a non-development service `demo` creates no accounts, areas or window."""
    result = runner.invoke(args=["demo"])
    assert_refused(result, "demo refuses to run outside development")
    assert count(db, StaffUser) == count(db, Locality) == count(db, Programme) == 0


def test_demo_creates_one_working_account_per_role(dev_runner: FlaskCliRunner, db: Session) -> None:
    """Development: the localities, an open window and one account per role, whose printed
    passwords sign in."""
    result = dev_runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "localities: added 1545, updated 0, unchanged 0" in result.output
    printed = printed_demo_accounts(result.output)
    accounts = list(db.scalars(select(StaffUser)))
    assert sorted(a.role for a in accounts) == sorted(Role)
    assert {a.username for a in accounts} == set(printed)
    for n, account in enumerate(accounts):
        password, role, area = printed[account.username]
        assert (role, area) == (account.role.value, account.area_code)
        assert signs_in(db, account.username, password, f"10.1.0.{n}")
    programme = current_programme(db)
    assert programme is not None and programme.is_open()
    assert count(db, Locality) == 1545


def test_demo_again_resets_the_passwords_and_nothing_else(
    dev_runner: FlaskCliRunner, db: Session
) -> None:
    """A second run keeps one account per role and the window; only new passwords work."""
    first = dev_runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    window = current_programme(db)
    assert window is not None
    opened = window.opens_at
    second = dev_runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "localities: added 0, updated 0, unchanged 1545" in second.output
    old, new = printed_demo_accounts(first.output), printed_demo_accounts(second.output)
    assert count(db, StaffUser) == len(Role) == len(new)
    assert count(db, Programme) == 1
    window = current_programme(db)
    assert window is not None and window.opens_at == opened
    for n, username in enumerate(sorted(new)):
        assert new[username][0] != old[username][0]
        assert signs_in(db, username, new[username][0], f"10.2.0.{n}")
        assert not signs_in(db, username, old[username][0], f"10.3.0.{n}")
    resets = db.scalar(select(func.count()).where(AuditEvent.action == "staff.credentials_reset"))
    assert resets == len(new)  # every reset is on the record
