"""`sms sweep`: finish dead workers' claims and re-enqueue owed SMS (the outbox's safety net)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from cli.common import repeat
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

    def one_round() -> None:
        report = sweep(timedelta(seconds=claim_timeout))
        click.echo(
            f"reconciled {report.reconciled}, released {report.released}, "
            f"dispatched {report.dispatched}"
        )

    repeat("sms sweep", every, one_round)


@sms_group.command("consume")
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=5000),
    default=200,
    show_default=True,
    help="Inbound SMS decided per store transaction.",
)
@click.option(
    "--claim-idle",
    type=click.IntRange(min=0, max=3600),
    default=30,
    show_default=True,
    help="Seconds after which another consumer's unacknowledged messages are taken over.",
)
@click.option("--once", is_flag=True, help="Decide what is waiting now, then stop.")
def sms_consume(batch: int, claim_idle: int, once: bool) -> None:
    """Decide inbound SMS from the buffer and the store's inbox (the Procfile's consumer)."""
    from flask import current_app

    from sms.buffer import SmsBuffer
    from sms.consumer import Consumer
    from sms.inbound import BUFFER
    from web import store

    edge = current_app.extensions.get(BUFFER)
    buffer = None
    if edge is not None:
        shared = edge.buffer
        buffer = SmsBuffer(shared.redis, shared.max_depth, claim_idle_ms=claim_idle * 1000)
    consumer = Consumer(
        store.session_factory(), current_app.extensions["intake.jobs"], buffer, batch=batch
    )
    if not once:
        consumer.run()
        return
    if consumer.buffer is not None:
        consumer.buffer.ensure_group()
    total = 0
    while seen := consumer.step(block_ms=0):
        total += seen
    click.echo(f"decided or skipped {total} inbound SMS")
