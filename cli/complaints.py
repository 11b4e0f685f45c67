"""`tickets escalate`: the complaint room's scheduled job (the Procfile's `escalator`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from cli.common import repeat, unit_of_work
from core.tickets import escalate_overdue

tickets_group = AppGroup("tickets", help="The complaint room's tickets.")


@tickets_group.command("escalate")
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Repeat every N seconds (the Procfile's escalator process) instead of once.",
)
def tickets_escalate(every: int | None) -> None:
    """Escalate every open ticket past its deadline to the supervisors' view (once each)."""

    def one_round() -> None:
        with unit_of_work() as session:
            escalated = escalate_overdue(session)
        click.echo(f"escalated {escalated}")

    repeat("tickets escalate", every, one_round)
