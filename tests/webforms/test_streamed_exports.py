"""Streamed downloads on a real store: each ends its own transaction and gives its connection
back, whether it is read to the end or abandoned half-way, so the service keeps answering.

The shared fixtures run each test on one connection in SAVEPOINTs, where a leaked transaction
cannot show; these tests build the app on an engine of its own, as production does, and look
at its pool (and, on PostgreSQL, at `pg_stat_activity`) after every export.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from assembly.app import create_app
from core.dashboard import Chart
from core.db import make_engine
from core.inspection import Kind
from core.roles import Role
from schema import migrate
from tests.conftest import own_postgres_database, settings_for
from tests.plugins.handover_world import build_world
from tests.support.factories import HOME, make_user
from tests.support.staff_web import csrf, sign_in
from webforms import csv_export


@dataclass
class Site:
    """The service on a store of its own, and what its exports need."""

    app: Flask
    engine: Engine
    url: str
    list_id: int

    def client(self, username: str) -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        assert sign_in(client, username).status_code == 302
        return client


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('exports') / 'intake.sqlite3'}"
    else:
        with own_postgres_database("exports") as url:
            yield url


@pytest.fixture(scope="module")
def export_site(store_url: str, voucher_key_file: Path) -> Iterator[Site]:
    migrator = make_engine(store_url)
    migrate.upgrade(migrator)
    migrator.dispose()
    settings = settings_for(store_url, voucher_signing_key_file=str(voucher_key_file))
    app = create_app(settings)  # the app builds its own engine, as in production
    factory: sessionmaker[Session] = app.extensions["intake.sessionmaker"]
    engine = factory.kw["bind"]
    with factory() as session:
        world = build_world(session)  # a published list in HOME, an army officer of LB3
        make_user(session, Role.INSPECTOR, "LB", username="inspector")
        make_user(session, Role.MINISTRY, "LB", username="ministry")
        session.commit()
        list_id = world.published.id
    yield Site(app, engine, store_url, list_id)
    engine.dispose()


def idle_in_transaction(url: str) -> int:
    """Connections to the store left in a transaction that nobody is running (PostgreSQL)."""
    if not url.startswith("postgresql"):
        return 0
    probe = create_engine(url, poolclass=NullPool)  # a fresh snapshot of pg_stat_activity
    try:
        with probe.connect() as conn:
            found = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            )
    finally:
        probe.dispose()
    return int(found or 0)


def write_at_once(url: str) -> None:
    """On SQLite, take the write lock without waiting: it fails at once if anyone holds it."""
    if not url.startswith("sqlite"):
        return
    conn = sqlite3.connect(make_url(url).database or "", timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def assert_released(export_site: Site, what: str) -> None:
    assert export_site.engine.pool.checkedout() == 0, f"{what} kept a connection"
    assert idle_in_transaction(export_site.url) == 0, f"{what} left a transaction open"
    write_at_once(export_site.url)


def exports(export_site: Site) -> list[tuple[str, str, str]]:
    """(who, method, path) of every download the service offers."""
    voucher = f"/console/lists/{export_site.list_id}/{HOME}"
    return [
        *(("inspector", "POST", f"/inspection/{kind.value}.csv") for kind in Kind),
        ("army", "POST", f"{voucher}.csv"),
        ("army", "POST", f"{voucher}/print"),
        *(("ministry", "GET", f"/console/dashboard/{chart.value}.csv") for chart in Chart),
    ]


def download(client: FlaskClient, method: str, path: str, **kwargs: object) -> object:
    if method == "GET":
        return client.get(path, **kwargs)
    token = csrf(client, "/console")
    return client.post(path, data={"csrf_token": token}, **kwargs)


def test_every_export_ends_its_transaction_and_the_service_keeps_answering(
    export_site: Site,
) -> None:
    clients: dict[str, FlaskClient] = {}
    for who, method, path in exports(export_site):
        client = clients.get(who) or clients.setdefault(who, export_site.client(who))
        response = download(client, method, path)
        assert response.status_code == 200, path  # type: ignore[attr-defined]
        assert response.get_data()  # type: ignore[attr-defined]
        response.close()  # type: ignore[attr-defined]
        assert_released(export_site, path)
    # Every kind of request still works at once: a page, a write, the health check.
    assert clients["inspector"].get("/inspection/applications").status_code == 200
    assert export_site.client("army").get("/console/lists").status_code == 200  # a sign-in writes
    assert export_site.app.test_client().get("/healthz").status_code == 200
    assert_released(export_site, "the requests after the exports")


def test_a_download_abandoned_half_way_gives_its_connection_back(
    export_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", 1)  # a chunk per line: the reading is under way
    client = export_site.client("inspector")
    response = download(client, "POST", "/inspection/audit.csv", buffered=False)
    chunks = response.iter_encoded()  # type: ignore[attr-defined]
    assert next(chunks).startswith(b"\xef\xbb\xbfseq,")
    assert next(chunks)  # the first event: the store is being read
    write_at_once(export_site.url)  # a reader on SQLite does not hold the write lock
    response.close()  # type: ignore[attr-defined]  # the browser went away
    assert_released(export_site, "an abandoned download")
