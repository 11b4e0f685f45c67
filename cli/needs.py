"""`needs remind`: the weekly-needs reminder job (the Procfile's `reminder` process)."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from cli.common import repeat, unit_of_work
from core.clock import in_beirut
from core.db import utcnow
from core.needs import deadline, remind, week_of
from core.notifications import dispatch
from core.programme import WindowError, parse_beirut_time
from texts.sms import compose

needs_group = AppGroup("needs", help="The municipalities' weekly reports of needs.")


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_beirut_time(value)
    except WindowError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time such as 2020-04-15T12:30 (Beirut time unless "
            "it carries an offset)"
        ) from None


@needs_group.command("remind")
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Repeat every N seconds (the Procfile's reminder process) instead of once.",
)
@click.option(
    "--now",
    "fixed",
    callback=_moment,
    metavar="ISO-DATETIME",
    help="Run as if it were this time (Beirut time unless it carries an offset).",
)
def needs_remind(every: int | None, fixed: datetime | None) -> None:
    """Text each focal point whose municipality missed this week's deadline (once a week)."""
    if every is not None and fixed is not None:
        raise click.UsageError("--now runs once at a fixed time: it cannot be used with --every")

    def one_round() -> None:
        now = fixed or utcnow()
        with unit_of_work() as session:
            owed = remind(session, now, compose)
        dispatch(current_app.extensions["intake.jobs"], owed, new=True)
        week = week_of(now)
        due = in_beirut(deadline(week)).strftime("%Y-%m-%d %H:%M")
        click.echo(f"week of {week.isoformat()} (due {due} Beirut): reminders owed {len(owed)}")

    repeat("needs remind", every, one_round)
