"""Fixtures: real SQLite and PostgreSQL stores (migrated once), a SAVEPOINT per test, real Redis.

Every test that touches the store runs on both databases. Under CI=true a service that
cannot be reached fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core import clock as service_clock
from core.db import make_engine
from core.queue import use_job_context
from core.settings import Environment, Settings
from schema import migrate
from sms.jobs import use_gateway

pytest_plugins = [
    "tests.plugins.fake_twilio",
    "tests.plugins.fake_aggregator",
    "tests.plugins.cli",
    "tests.plugins.citizen_forms",
    "tests.plugins.handover_world",
    "tests.plugins.race_store",
    "tests.plugins.sms_service",
    "tests.plugins.vouchers",
]

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/intake_test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(what: str) -> None:
    """A missing service: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{what} is not reachable (CI=true: nothing is skipped)", pytrace=False)
    pytest.skip(f"{what} is not reachable")


def settings_for(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.TEST,
        "database_url": database_url,
        "secret_key": "test-secret-key-" + "x" * 32,
        "public_base_url": "https://intake.test",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _postgres_engine() -> Engine:
    url = make_url(PG_URL)
    admin = make_engine(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    except OperationalError:
        unavailable(f"PostgreSQL at {url.host}:{url.port or 5432}")
    finally:
        admin.dispose()
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the services it needs, read from the fixtures it uses, so that
    `-m postgres` and `-m redis` select what really needs them (no marker placed by hand)."""
    for item in items:
        for marker in services_needed(item):
            item.add_marker(marker)


def services_needed(item: pytest.Item) -> list[str]:
    """`postgres` for a test on the PostgreSQL store (a store parametrised "postgresql") or one
    that asks for `postgres_url`; `redis` for one that asks for `redis_url`."""
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    params = list(callspec.params.values()) if callspec is not None else []
    needed = []
    if "postgres_url" in fixtures or any(p == "postgresql" for p in params if isinstance(p, str)):
        needed.append("postgres")
    if "redis_url" in fixtures:
        needed.append("redis")
    return needed


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated store of each kind, built once per test session through the migrations."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("store") / "intake.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = _postgres_engine()
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection in an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits are SAVEPOINT releases inside the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.close()


@pytest.fixture
def app(engine: Engine, session_factory: sessionmaker[Session], voucher_key_file: Path) -> Flask:
    """The service on the test's store; it signs vouchers with the test's key (SERVICE_KEY)."""
    url = engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, voucher_signing_key_file=str(voucher_key_file))
    flask_app = create_app(settings, session_factory=session_factory)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client on https, as the service is reached in production (cookies are Secure)."""
    test_client = app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server's test database, for a test that makes its own databases or
    engines there (the shared `engine` covers the rest). Asking for it marks the test."""
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except (RedisError, OSError):
        unavailable(f"Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def queue_prefix(redis_url: str) -> Iterator[str]:
    """Queues of this test alone, removed afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}-"
    yield prefix
    conn = Redis.from_url(redis_url)
    for key in conn.scan_iter(f"*{prefix}*"):
        conn.delete(key)


@pytest.fixture(scope="session")
def localities_csv() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "lebanon_localities.csv"


@pytest.fixture(autouse=True)
def _clock_follows_the_machine_after_each_test() -> Iterator[None]:
    """A test that froze the service clock cannot leave it frozen for the next one."""
    yield
    service_clock.unfreeze()


@pytest.fixture(autouse=True)
def _jobs_forget_each_tests_store_and_gateway() -> Iterator[None]:
    """What a test gave jobs (its app's store and settings, a recording gateway) ends with it."""
    yield
    use_job_context(None)
    use_gateway(None)


@pytest.fixture
def clock() -> ModuleType:
    """The service's one clock (`core.clock`): `clock.freeze(moment)`, `clock.advance(delta)`."""
    return service_clock


@contextmanager
def own_postgres_database(suffix: str) -> Iterator[str]:
    """A PostgreSQL database of a test module's own (its rows commit, which the shared store
    must not keep): created empty, its URL yielded, dropped afterwards."""
    url = make_url(PG_URL)
    name = f"{url.database}_{suffix}"
    admin = make_engine(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        unavailable(f"PostgreSQL at {url.host}:{url.port or 5432}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def own_postgres_store(suffix: str, **engine_options: object) -> Iterator[Engine]:
    """A migrated engine on a database of its own (see `own_postgres_database`)."""
    with own_postgres_database(suffix) as url:
        engine = make_engine(url, **engine_options)
        migrate.upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
