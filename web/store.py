"""The store as the web side sees it: one session, one transaction, per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction

EXTENSION = "intake.sessionmaker"


def init_store(app: Flask, factory: sessionmaker[Session]) -> None:
    app.extensions[EXTENSION] = factory
    app.teardown_appcontext(_close)


def session_factory() -> sessionmaker[Session]:
    factory: sessionmaker[Session] = current_app.extensions[EXTENSION]
    return factory


def db() -> Session:
    """This request's session; the view (or `commit`) decides whether its work is kept."""
    if "db" not in g:
        g.db = session_factory()()
    session: Session = g.db
    return session


def commit() -> None:
    db().commit()


def _close(exc: BaseException | None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        # Whatever a view did not commit is not kept: no half-written record survives an error.
        session.rollback()
        session.close()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A transaction outside a request (CLI commands)."""
    with transaction(session_factory()) as session:
        yield session
