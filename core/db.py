"""The store: one declarative base, engine construction for SQLite and PostgreSQL, sessions.

Core functions take the session they work in and never commit; the adapter (request, job,
CLI command) owns the transaction (one per request and per job).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from core import clock

# Stable constraint names, so that migrations can name what they alter on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table of the service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table(model: type[Base]) -> Table:
    """A model's table, for the few hot statements written in Core (no ORM bookkeeping)."""
    return Base.metadata.tables[model.__tablename__]


def utcnow() -> datetime:
    """Now, from the service's one clock (`core.clock`, which tests set)."""
    return clock.now()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-database settings the service relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    # A request that cannot get a connection in 5 s is answered busy (web/overload.py) well
    # inside Twilio's 15 s, instead of waiting SQLAlchemy's default 30 s for one.
    if "poolclass" not in kwargs:  # a pool without a queue (NullPool) has no timeout
        kwargs.setdefault("pool_timeout", 5)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    if ":memory:" in url or url.rstrip("/") == "sqlite:":
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN, so SAVEPOINTs and DDL work as documented.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock at once: two writers wait for each other instead of
        # failing on SQLite's lock upgrade (the audit chain appends under that lock). A reader
        # (`reader()`) takes none: in WAL mode it reads its snapshot while others write.
        reads_only = connection.get_execution_options().get(READS_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if reads_only else "BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


READS_ONLY = "intake_reads_only"  # an execution option: this session's transaction only reads


def reader(factory: sessionmaker[Session]) -> Session:
    """A session that only reads, for a long read such as a streamed export: on SQLite its
    transaction takes no write lock, so every writer goes on meanwhile (PostgreSQL's readers
    never hold writers up). Close it when done; it must write nothing."""
    return factory(execution_options={READS_ONLY: True})


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
