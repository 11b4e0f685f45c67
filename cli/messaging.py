"""`sms sweep`: finish dead workers' claims and re-enqueue owed SMS (the outbox's safety net)."""

from __future__ import annotations

import time
from datetime import timedelta

import click
from flask.cli import AppGroup

from sms.jobs import sweep

sms_group = AppGroup("sms", help="Outgoing SMS.")


@sms_group.command("sweep")
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Repeat every N seconds (the Procfile's sweeper process) instead of once.",
)
@click.option(
    "--claim-timeout",
    type=click.IntRange(min=0),
    default=120,
    show_default=True,
    help="Seconds after which a worker's claim on a message is presumed dead.",
)
def sms_sweep(every: int | None, claim_timeout: int) -> None:
    """Reconcile stale claims with the provider and enqueue every owed SMS that is due."""
    while True:
        report = sweep(timedelta(seconds=claim_timeout))
        click.echo(
            f"reconciled {report.reconciled}, released {report.released}, "
            f"dispatched {report.dispatched}"
        )
        if every is None:
            return
        time.sleep(every)
