"""What every command shares: a transaction, store errors turned into one clear line, and
the `--every N` loop of the Procfile's scheduled commands."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.settings import Settings
from web import store

log = logging.getLogger(__name__)


class StoreUnreachable(click.ClickException):
    """The store could not be reached (refused, lost, timed out): it may be back soon."""


def settings() -> Settings:
    value: Settings = current_app.config["INTAKE_SETTINGS"]
    return value


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction for the command: all of it is kept, or none of it."""
    try:
        with store.unit_of_work() as session:
            yield session
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise click.ClickException(
                "the store is not set up: run `flask --app wsgi db upgrade` first"
            ) from None
        raise StoreUnreachable(f"the store could not be reached: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the store refused the change: {type(exc).__name__}") from None


# What a repeated command waits out: the store or Redis away for a while. Anything else (a
# refusal, a broken chain, a bug) stops it, as it stops a command run once.
OUTAGES: tuple[type[Exception], ...] = (StoreUnreachable, OperationalError, RedisError, OSError)


def repeat(
    name: str,
    every: float | None,
    one_round: Callable[[], bool | None],
    *,
    pause_after_outage: float = 0.0,
) -> None:
    """Run `one_round` once (no `--every`), or every `every` seconds until the process stops.

    Once, anything that goes wrong ends the command with its exit code, as always. Repeated,
    a round that meets an outage is logged as a warning and the next round tries again (at
    least `pause_after_outage` seconds later); a round that returns True found more work
    waiting, and the next one starts at once.
    """
    if every is None:
        one_round()
        return
    while True:
        try:
            more = one_round()
        except OUTAGES as exc:
            log.warning("%s paused: %s", name, type(exc).__name__)
            time.sleep(max(every, pause_after_outage))
            continue
        if not more:
            time.sleep(every)


def operator() -> str:
    """The actor recorded for CLI actions (the operator's login name on the machine)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
