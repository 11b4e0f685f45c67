"""The application's role: it owns nothing, appends to the audit trail and cannot rewrite it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from assembly.app import create_app
from core.db import make_engine, make_sessionmaker
from schema import migrate
from tests.conftest import settings_for, unavailable
from tests.plugins.cli import GOOD_PASSWORD, add_user_args, assert_refused
from tests.support.factories import HOME, load_sample_geography
from web.store import EXTENSION


@dataclass(frozen=True)
class Store:
    """A database of its own, with the owner's URL and the application role's."""

    owner_url: str
    role: str
    role_url: str


def _admin(url: str) -> Engine:
    return make_engine(
        make_url(url).set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture(scope="module")
def store(postgres_url: str) -> Iterator[Store]:
    """Grants and committed events must not touch the shared store; roles are cluster-wide,
    so this one has a name of its own and is dropped at the end."""
    url = make_url(postgres_url)
    name, role = f"{url.database}_approle", f"intake_app_{uuid.uuid4().hex[:12]}"
    admin = _admin(postgres_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    except Exception:  # any failure to reach the server
        admin.dispose()
        unavailable(f"PostgreSQL at {url.host}")
    owner_url = url.set(database=name).render_as_string(hide_password=False)
    owner = make_engine(owner_url)
    migrate.upgrade(owner)
    with make_sessionmaker(owner)() as session:
        load_sample_geography(session)
        session.commit()
    owner.dispose()
    role_url = url.set(database=name, username=role).render_as_string(hide_password=False)
    yield Store(owner_url, role, role_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


@contextmanager
def _cli(url: str) -> Iterator[FlaskCliRunner]:
    """The operators' CLI connected as the URL's user."""
    app = create_app(settings_for(url))
    try:
        yield app.test_cli_runner()
    finally:
        app.extensions[EXTENSION].kw["bind"].dispose()


def _refused_as_role(store: Store, statement: str) -> str:
    engine = make_engine(store.role_url)
    try:
        with engine.begin() as conn, pytest.raises(DBAPIError) as refused:
            conn.execute(text(statement))
    finally:
        engine.dispose()
    return str(refused.value.orig)


def test_the_app_role_writes_events_and_cannot_rewrite_them(store: Store) -> None:
    with _cli(store.owner_url) as owner:
        granted = owner.invoke(args=["db", "grant-app-role", store.role])
    assert granted.exit_code == 0, granted.output
    assert f'GRANT SELECT, INSERT ON TABLE "audit_events" TO {store.role}' in granted.output
    with _cli(store.role_url) as app:
        _work_as_the_role(app, store)


def _work_as_the_role(app: FlaskCliRunner, store: Store) -> None:
    added = app.invoke(args=add_user_args("alice", "focal_point", HOME), input=GOOD_PASSWORD)
    assert added.exit_code == 0, added.output
    window = ["programme", "set", "--opens", "2020-04-20", "--closes", "2020-05-04T24:00"]
    assert app.invoke(args=window).exit_code == 0
    verified = app.invoke(args=["audit", "verify"])
    assert (verified.exit_code, verified.output.strip()) == (0, "audit trail intact: 2 events")
    for statement in (
        "UPDATE audit_events SET actor = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        assert "permission denied for table audit_events" in _refused_as_role(store, statement)
    for statement in (
        "DROP TRIGGER audit_events_no_change ON audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
    ):
        assert "must be owner of" in _refused_as_role(store, statement)
    assert_refused(app.invoke(args=["audit", "rekey"]), "the audit table owner's rights")
    assert app.invoke(args=["audit", "verify"]).exit_code == 0


@pytest.mark.parametrize(
    ("who", "says"),
    [("nobody_such_role_h4", "does not exist"), ("postgres", "is a superuser")],
)
def test_a_role_that_could_rewrite_the_trail_is_not_granted(
    store: Store, who: str, says: str
) -> None:
    with _cli(store.owner_url) as owner:
        assert_refused(owner.invoke(args=["db", "grant-app-role", who]), says)


def test_roles_exist_on_postgresql_only(runner: FlaskCliRunner, engine: Engine) -> None:
    result = runner.invoke(args=["db", "grant-app-role", "intake_app_missing_h4"])
    if engine.dialect.name == "sqlite":
        assert_refused(result, "PostgreSQL only")
    else:
        assert_refused(result, "does not exist")
