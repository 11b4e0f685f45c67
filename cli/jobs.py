"""`jobs relay`: owed work from the store to the queues, in batches (the Procfile's relay)."""

from __future__ import annotations

import logging
import time

import click
from flask import current_app
from flask.cli import AppGroup

from cli.common import OUTAGES, repeat, settings
from core.queue import RedisRunner
from core.relay import BATCH, relay_once, relay_stale
from web import store

jobs_group = AppGroup("jobs", help="Background work: the relay from the store to the queues.")
log = logging.getLogger(__name__)

STALE_EVERY = 60.0  # seconds between looks for owed messages whose job Redis lost


@jobs_group.command("relay")
@click.option(
    "--every",
    type=click.FloatRange(min=0.05),
    default=0.25,
    show_default=True,
    help="Seconds between looks at the store when nothing was owed.",
)
@click.option("--batch", type=click.IntRange(min=1), default=BATCH, show_default=True)
@click.option("--once", is_flag=True, help="Relay what is owed now, then stop.")
def relay_command(every: float, batch: int, once: bool) -> None:
    """Hand owed SMS and scores from the store to RQ, a batch per round trip."""
    redis_url = settings().redis_url
    if not redis_url:
        raise click.ClickException("no REDIS_URL: jobs run inline, there is nothing to relay")
    runner = RedisRunner(redis_url, jobs=current_app.extensions["intake.job_table"])
    factory = store.session_factory()
    stale_due = time.monotonic()

    def one_round() -> bool:
        nonlocal stale_due
        report = relay_once(factory, runner, batch)
        if time.monotonic() >= stale_due:
            relay_stale(factory, runner, batch)
            stale_due = time.monotonic() + STALE_EVERY
        if once:
            click.echo(f"relayed {report.messages} SMS, {report.scores} scores")
        return report.total >= batch  # a full batch means more is waiting: go round at once

    # Redis or the store away: the work stays owed in the store; the next round tries again.
    try:
        repeat("relay", None if once else every, one_round, pause_after_outage=1.0)
    except OUTAGES as exc:  # only once: a repeated relay waits an outage out
        log.warning("relay paused: %s", type(exc).__name__)
        raise click.ClickException(f"relay failed: {type(exc).__name__}") from None
