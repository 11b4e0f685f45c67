"""What the CLI tests share: refusal and store checks, fresh-store and geography fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.users import SignInRefused, authenticate
from tests.conftest import settings_for
from tests.support.factories import load_sample_geography
from web.store import EXTENSION

GOOD_PASSWORD = "a-long-password-123"


# --- helpers -------------------------------------------------------------------------------


def assert_refused(result: Result, *fragments: str) -> None:
    """Refused as an operator should see it: non-zero exit, a clear message, no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def count(db: Session, model: type[object]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def signs_in(db: Session, username: str, password: str, address: str = "127.0.0.1") -> bool:
    db.expire_all()
    try:
        authenticate(db, username, password, address)
    except SignInRefused:
        return False
    return True


def add_user_args(username: str, role: str, area: str) -> list[str]:
    return ["users", "add", username, "--role", role, "--area", area, "--password-stdin"]


# --- fixtures ------------------------------------------------------------------------------

# Registered for the whole suite by `pytest_plugins` in conftest.py. Every store test runs on
# SQLite and PostgreSQL, inside the test's rolled-back transaction (the app is built on the
# test's session factory), so `db` sees what a command kept.


def _dispose(app: Flask) -> None:
    factory: sessionmaker[Session] = app.extensions[EXTENSION]
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    bind.dispose()


@pytest.fixture
def fresh_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on its own new, empty SQLite file: no tables until `db upgrade` runs."""
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))
    yield app
    _dispose(app)


@pytest.fixture
def fresh_runner(fresh_app: Flask) -> FlaskCliRunner:
    return fresh_app.test_cli_runner()


@pytest.fixture
def geo(db: Session) -> None:
    """The six sample localities (Chiyah, Furn Ech-Chebbak, Bourj Hammoud, Halba, ...)."""
    load_sample_geography(db)
    db.commit()
