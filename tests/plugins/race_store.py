"""A PostgreSQL store of a test module's own, for races whose rows commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import own_postgres_store


@pytest.fixture(scope="module")
def race_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of its own on the PostgreSQL server: the race commits rows, which the shared
    store must not keep."""
    with own_postgres_store("race") as engine:
        yield engine
