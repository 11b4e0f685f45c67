"""What every command shares: a transaction, and store errors turned into one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.settings import Settings
from web import store


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
        raise click.ClickException(f"the store could not be reached: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the store refused the change: {type(exc).__name__}") from None


def operator() -> str:
    """The actor recorded for CLI actions (the operator's login name on the machine)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
