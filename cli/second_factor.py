"""`users reset-second-factor USERNAME`: an admin's reset of a lost second factor."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from cli.common import operator, unit_of_work
from core import second_factor
from core.users import StaffUser


@click.command("reset-second-factor")
@click.argument("username")
@with_appcontext
def users_reset_second_factor(username: str) -> None:
    """Remove USERNAME's second factor (a lost phone): its sessions end, and at its next
    sign-in it sets one up again (its role requires one) or signs in with its password."""
    name = username.strip().lower()[:64]
    with unit_of_work() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == name))
        if user is None:
            raise click.ClickException(f"no account named {username[:64]!r}")
        had = second_factor.reset(session, user, operator())
        again = second_factor.required_for(user.role)
    what = "second factor removed" if had else "no second factor was set up"
    then = "it sets one up again at its next sign-in" if again else "its password alone opens it"
    click.echo(f"{name}: {what}; every session of the account is signed out; {then}")
