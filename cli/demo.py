"""`demo`: a working service on a laptop — areas, one account per role, an open window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.common import operator, settings, unit_of_work
from cli.territory import load_file
from core.db import utcnow
from core.programme import current_programme, set_window
from core.roles import Role
from core.users import StaffUser, add_user, generate_password, set_password, set_phone

LOCALITIES = Path(__file__).resolve().parent.parent / "data" / "lebanon_localities.csv"

# Chiyah (21111) in Baabda district (LB32), Mount Lebanon (LB3).
DEMO_AGENT_PHONE = "+9611000766"  # what "take next call" rings in the demo (logged, not dialled)
DEMO_ACCOUNTS = (
    ("demo-focal", Role.FOCAL_POINT, "21111"),
    ("demo-mukhtar", Role.MUKHTAR, "21111"),
    ("demo-volunteer", Role.VOLUNTEER, "21111"),
    ("demo-qaimaqam", Role.QAIMAQAM, "LB32"),
    ("demo-governor", Role.GOVERNOR, "LB3"),
    ("demo-ministry", Role.MINISTRY, "LB"),
    ("demo-health", Role.HEALTH_MINISTRY, "LB"),
    ("demo-inspector", Role.INSPECTOR, "LB"),
    ("demo-agent", Role.AGENT, "LB"),
    ("demo-committee", Role.COMMITTEE, "LB"),
    ("demo-army", Role.ARMY, "LB3"),
    ("demo-admin", Role.ADMIN, "LB"),
)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the localities, create one demo account per role, print their passwords.

    Development only. Running it again resets the demo passwords and changes nothing else.
    """
    if not settings().is_development:
        raise click.ClickException("demo refuses to run outside development (INTAKE_ENV)")
    report = load_file(LOCALITIES)
    click.echo(
        f"localities: added {report.added}, updated {report.updated}, unchanged {report.unchanged}"
    )
    with unit_of_work() as session:
        passwords = [_demo_account(session, *account) for account in DEMO_ACCOUNTS]
        _open_window(session)
    click.echo("demo sign-ins (username / password / role / area):")
    for (username, role, area), password in zip(DEMO_ACCOUNTS, passwords, strict=True):
        click.echo(f"  {username:<15} {password:<22} {role.value:<12} {area}")


def _demo_account(session: Session, username: str, role: Role, area: str) -> str:
    password = generate_password()
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        user = add_user(session, username, role, area, password, operator())
    else:
        set_password(session, user, password, operator())
    if role is Role.AGENT and user.phone is None:
        set_phone(session, user, DEMO_AGENT_PHONE, operator())
    return password


def _open_window(session: Session) -> None:
    """A two-week window open now, like the 2020 round's, unless one is already set."""
    if current_programme(session) is None:
        now = utcnow()
        set_window(session, now - timedelta(days=1), now + timedelta(days=13), operator())
