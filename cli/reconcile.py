"""`sms reconcile`: ingest the inbound SMS in Twilio's log that the store lacks.

The inbound buffer's backstop (`sms/reconcile.py`): run by hand after a Redis loss, and every
ten minutes by the Procfile's `reconciler` process over the last two hours. It belongs to the
`sms` group (`cli/messaging.py`), which `cli/__init__.py` adds it to.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from cli.common import repeat, settings, unit_of_work
from core.clock import BEIRUT
from core.db import utcnow
from core.programme import WindowError, parse_beirut_time
from sms import reconcile
from sms.consumer import decide_waiting
from web import store

PAGE_SIZE = reconcile.PAGE_SIZE  # records per request to Twilio (a module name tests can set)
_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
SINCE_HELP = (
    "a duration back from now such as 90m, 6h or 2d, or an ISO date-time such as "
    "2026-12-06T08:00 (Beirut time unless it carries an offset)"
)


def since_moment(value: str, now: datetime) -> datetime:
    """`--since`: a duration back from `now` (`90m`, `6h`, `2d`) or an ISO date-time."""
    text = value.strip()
    if match := _DURATION.fullmatch(text):
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].+)?", text):
        raise click.ClickException(f"--since {value!r} is not {SINCE_HELP}")
    try:
        moment = parse_beirut_time(text)
    except WindowError:
        raise click.ClickException(f"--since {value!r} is not {SINCE_HELP}") from None
    if moment > now:
        shown = moment.astimezone(BEIRUT).strftime("%Y-%m-%d %H:%M")
        raise click.ClickException(f"--since {shown} Beirut is in the future")
    return moment


@click.command("reconcile")
@with_appcontext
@click.option(
    "--since", "since_text", required=True, metavar="T", help=f"Read from T: {SINCE_HELP}."
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Repeat every N seconds (the Procfile's reconciler process) instead of once; "
    "--since is then a duration, counted back from each run.",
)
@click.option(
    "--to",
    "numbers",
    multiple=True,
    metavar="NUMBER",
    help="Read the SMS sent to NUMBER (repeatable). Default: TWILIO_FROM_NUMBER and "
    "TWILIO_VOICE_NUMBER, or, with neither, those of TWILIO_MESSAGING_SERVICE_SID.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1_000_000),
    default=reconcile.LIMIT,
    show_default=True,
    help="Read at most this many of Twilio's records per run, newest first "
    f"(pages of {reconcile.PAGE_SIZE}).",
)
def sms_reconcile(since_text: str, every: int | None, numbers: tuple[str, ...], limit: int) -> None:
    """Ingest every inbound SMS in Twilio's log since T that the store lacks (after a lost
    buffer); print how many were found, already known, and ingested."""
    since_moment(since_text, utcnow())  # a malformed T stops the command before anything else
    if every is not None and not _DURATION.fullmatch(since_text.strip()):
        raise click.ClickException("--every needs --since as a duration such as 2h")
    try:
        log = reconcile.MessageLog.from_settings(settings(), numbers)
    except reconcile.NotOnTwilio as exc:
        raise click.ClickException(f"there is no Twilio log to read: {exc}") from None

    def one_round() -> None:
        try:
            click.echo(_run_once(log, since_moment(since_text, utcnow()), limit))
        except reconcile.LogUnreachable as exc:
            if every is None:
                raise click.ClickException(str(exc)) from None
            click.echo(f"reconcile failed, next try in {every}s: {exc}", err=True)

    repeat("sms reconcile", every, one_round)


def _run_once(log: reconcile.MessageLog, since: datetime, limit: int) -> str:
    """One reconciliation, and its one line. Without Redis there is no consumer process (the
    web process decides inbound SMS as they come), so what was ingested is decided here."""
    report = reconcile.reconcile(log, unit_of_work, since, limit=limit, page_size=PAGE_SIZE)
    shown = since.astimezone(BEIRUT).strftime("%Y-%m-%d %H:%M")
    line = (
        f"since {shown} Beirut: found {report.found}, already known {report.known}, "
        f"ingested {report.ingested}"
    )
    if report.ingested and not settings().redis_url:
        decided = decide_waiting(store.session_factory(), current_app.extensions["intake.jobs"])
        line += f", decided {decided} (no Redis: no consumer process)"
    if report.limited:
        line += "; stopped at --limit, so older messages in the window were not read"
    return line
