"""A national list in worker processes: the same list, the same verification, the same bytes.

`lists build` and `lists verify` share a large round's rows among worker processes, each
reading its ranges on its own connection (on PostgreSQL, in the caller's exported snapshot).
Whatever the sharing, the list must be the one a single process derives, and a family changed
behind the store's back must still be named. The workers read committed rows, so these tests
write to a store of their own (a SQLite file, a PostgreSQL database), not the rolled-back
transaction the rest of the suite uses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from bench.list_store import open_round, seed
from core.applications import Application
from core.db import make_engine, make_sessionmaker, utcnow
from core.programme import Programme
from schema import migrate
from scoring import line_inputs
from scoring.digest import canonical_json
from scoring.formula import load_formula
from scoring.list_verify import verify_list
from scoring.lists import BeneficiaryList, ListEntry, Quota, build_list
from scoring.scores import Score
from tests.conftest import own_postgres_store
from tests.support.factories import load_sample_geography

FAMILIES = 300
BUDGET = 100


@pytest.fixture(params=["sqlite", "postgresql"])
def list_round_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A committed round of FAMILIES scored applications, a third of them never scored."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / 'lists.sqlite3'}")
            migrate.upgrade(engine)
            stack.callback(engine.dispose)
        else:
            engine = stack.enter_context(own_postgres_store("list_workers"))
        _seed(engine)
        yield engine


def _seed(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        load_sample_geography(session)
        programme = open_round(session)
        session.commit()
        seed(engine, session, programme, FAMILIES, load_formula())
        session.execute(delete(Score).where(Score.application_id % 3 == 0))
        programme.closes_at = utcnow() - timedelta(seconds=1)
        session.commit()


@pytest.fixture
def share(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[int]]:
    """Once called, every round counts as large and goes to two workers in ranges of 37
    families; the list it returns counts the times the work really went to workers."""
    calls: list[int] = []
    real = line_inputs._in_workers

    def counted(*args: Any) -> Iterator[line_inputs.LineInput]:
        calls.append(1)
        return real(*args)

    def start() -> list[int]:
        monkeypatch.setattr(line_inputs, "IN_PROCESS_BELOW", 0)
        monkeypatch.setattr(line_inputs, "CHUNK", 37)
        monkeypatch.setattr(line_inputs, "WORKERS", 2)
        monkeypatch.setattr(line_inputs, "_in_workers", counted)
        return calls

    return start


def _build(engine: Engine) -> int:
    with make_sessionmaker(engine)() as session:
        programme = session.scalars(select(Programme)).one()
        built = build_list(session, programme, BUDGET, Quota.DISTRICT, load_formula())
        session.commit()
        return built.id


def _lines(session: Session, list_id: int) -> list[tuple[object, ...]]:
    e = ListEntry
    stmt = select(
        e.application_id, e.input_digest, e.outcome, e.reason, e.score, e.poverty_count, e.rank
    ).where(e.list_id == list_id)
    return [tuple(row) for row in session.execute(stmt.order_by(e.application_id))]


def test_workers_build_the_list_one_process_builds(
    list_round_store: Engine, share: Callable[[], list[int]]
) -> None:
    alone = _build(list_round_store)
    calls = share()
    shared = _build(list_round_store)
    assert calls == [1]
    with make_sessionmaker(list_round_store)() as session:
        first = session.get_one(BeneficiaryList, alone)
        second = session.get_one(BeneficiaryList, shared)
        assert (first.input_digest, first.result_digest) == (
            second.input_digest,
            second.result_digest,
        )
        assert (first.families, first.selected) == (FAMILIES, BUDGET)
        assert _lines(session, alone) == _lines(session, shared)
        assert verify_list(session, shared) == []
    assert calls == [1, 1]  # the verification went to the workers too


def test_workers_name_a_family_changed_behind_the_stores_back(
    list_round_store: Engine, share: Callable[[], list[int]]
) -> None:
    calls = share()
    list_id = _build(list_round_store)
    with make_sessionmaker(list_round_store)() as session:
        assert verify_list(session, list_id) == []
        row = session.get_one(Application, 7)
        pages = json.loads(row.data)
        pages["finances"]["monthly_income"] = 9_999_999
        session.execute(
            update(Application).where(Application.id == 7).values(data=json.dumps(pages))
        )
        session.commit()
        problems = verify_list(session, list_id)
    assert calls == [1, 1, 1]
    assert any(p.startswith("application 7: inputs stored as") for p in problems)
    assert "the list's input digest differs from its inputs derived again" in problems


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e-05, 5e-324, 1e16, 1e-4, 0.0001, -0.0, 12.345678])
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _standard(obj: object) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_canonical_json_writes_the_standard_librarys_bytes(obj: object) -> None:
    """Every digest ever stored was made by the standard library: the fast writer must give
    the same bytes, or refuse what it refuses (NaN and infinities)."""
    try:
        expected: str | None = _standard(obj)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            canonical_json(obj)
    else:
        assert canonical_json(obj) == expected


def test_canonical_json_refuses_a_nan_orjson_would_write_as_null() -> None:
    with pytest.raises(ValueError):
        canonical_json({"a": None, "b": [math.nan]})
