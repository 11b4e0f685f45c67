"""What a list needs of each family, read from its stored row: the hot loop of a national list.

`lists build` and `lists verify` read every application of a round (a million on launch year)
and, for each, parse the form, digest its inputs, apply the circular's exclusions and score
it (or take its stored score when the inputs are the ones scored). That is pure Python, about
40 µs a family, so it runs in worker processes, one per core, on chunks of rows the caller
reads from the store; the ranking and the store stay in the caller's process and
transaction. Small rounds (tests, a village) stay in the caller's process: starting workers
costs more than it saves. The result does not depend on how the work was shared.
"""

from __future__ import annotations

import gc
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from typing import NamedTuple

import numpy as np
from sqlalchemy import Connection, Engine
from sqlalchemy.pool import NullPool

from core.applications import ApplicationStatus
from core.db import READS_ONLY, make_engine
from core.household import household_size, ineligibility
from scoring.digest import parse
from scoring.formula import Formula
from scoring.poverty import poverty_from_variables
from scoring.variables import HouseholdInput, household_variables, input_digest

NEEDS_REVIEW = "needs_review"  # an exclusion reason: a member is on another family's form
CHUNK = 4000  # rows per task: big enough to amortise its connection, small enough to share
IN_PROCESS_BELOW = 20_000  # rows: fewer stay in the caller's process
WORKERS = os.cpu_count() or 1  # processes for a large round: one per core
IN_FLIGHT = 3  # ranges queued per worker: enough to keep both busy
_SNAPSHOT = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


class RawRow(NamedTuple):
    """One application as stored, with the stored score of its inputs (None: none stored)."""

    application_id: int
    version: int
    reference: str
    status: str
    data: str  # the form's JSON text, parsed in the worker
    governorate: str | None
    district: str | None
    stored_digest: str | None = None
    stored_score: float | None = None
    stored_poverty: int | None = None


class LineInput(NamedTuple):
    """One family as the ranking reads it, with the digest of its inputs."""

    application_id: int
    version: int
    reference: str
    input_digest: str
    reason: str | None  # the exclusion, or None
    score: float | None  # None when excluded
    poverty_count: int | None
    size: int  # the head and the members
    governorate: str | None
    district: str | None


# The rows of one range of application ids [lo, hi), read on the given connection.
Reader = Callable[[Connection, int, int], list[RawRow]]


@dataclass(frozen=True)
class Plan:
    """How a list's rows become line inputs: the same for every range and every worker."""

    formula: Formula
    as_of: date
    reader: Reader


@dataclass(frozen=True)
class Store:
    """Where workers read: the caller's database and, on PostgreSQL, the caller's snapshot,
    so every worker reads exactly what the caller's transaction sees."""

    url: str  # with its password: handed to forked workers, never printed
    snapshot: str | None


class _Read(NamedTuple):
    """A row read and digested; `variables` when it still has to be scored."""

    row: RawRow
    pages: dict[str, dict[str, object]]
    input_digest: str
    reason: str | None
    variables: dict[str, float] | None


def _read(row: RawRow, plan: Plan) -> _Read:
    pages, parsed = parse(row.data)
    household = HouseholdInput(pages=pages, as_of=plan.as_of, governorate=row.governorate)
    digest = input_digest(household, parsed=parsed)
    reason = _exclusion(pages, row.status)
    unscored = reason is None and row.stored_digest != digest
    return _Read(row, pages, digest, reason, household_variables(household) if unscored else None)


def chunk_inputs(rows: Sequence[RawRow], plan: Plan) -> list[LineInput]:
    """The rows' line inputs. A row whose stored score is of these very inputs keeps it;
    the others are scored together (`Formula.score_columns`, bit for bit `score`'s result)."""
    read = [_read(row, plan) for row in rows]
    unscored = [r.variables for r in read if r.variables is not None]
    columns = {
        v: np.fromiter((variables[v] for variables in unscored), np.float64, len(unscored))
        for v in plan.formula.variables
    }
    scores = iter(plan.formula.score_columns(columns).tolist() if unscored else [])
    return [_line_input(r, scores) for r in read]


def _line_input(read: _Read, scores: Iterator[float]) -> LineInput:
    row = read.row
    score, poverty = (row.stored_score, row.stored_poverty) if read.reason is None else (None, None)
    if read.variables is not None:
        score, poverty = next(scores), poverty_from_variables(read.variables).count
    return LineInput(
        row.application_id,
        row.version,
        row.reference,
        read.input_digest,
        read.reason,
        score,
        poverty,
        household_size(read.pages),
        row.governorate,
        row.district,
    )


def _exclusion(pages: dict[str, dict[str, object]], status: str) -> str | None:
    # Circular part 5.1(f) first; then a member overlap the committee has not cleared.
    reason = ineligibility(pages)
    if reason is not None:
        return str(reason)
    return NEEDS_REVIEW if status == ApplicationStatus.NEEDS_REVIEW else None


def id_ranges(ids: Sequence[int]) -> list[tuple[int, int]]:
    """[lo, hi) ranges holding CHUNK of the (sorted) ids each."""
    size = CHUNK
    return [(ids[i], ids[min(i + size, len(ids)) - 1] + 1) for i in range(0, len(ids), size)]


def line_inputs(conn: Connection, ids: Sequence[int], plan: Plan) -> list[LineInput]:
    """The line inputs of the families with these (sorted) ids, in id order, read by
    `plan.reader`; in WORKERS processes when the round is large and the store can be opened
    again from another process (not an in-memory SQLite)."""
    ranges = id_ranges(ids)
    large = WORKERS > 1 and len(ids) >= IN_PROCESS_BELOW
    store = _shared_store(conn) if large else None
    if store is None:
        return [line for lo, hi in ranges for line in chunk_inputs(plan.reader(conn, lo, hi), plan)]
    return list(_in_workers(ranges, plan, store, WORKERS))


def _shared_store(conn: Connection) -> Store | None:
    url = conn.engine.url
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        return None if memory else Store(url.render_as_string(hide_password=False), None)
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
    return Store(url.render_as_string(hide_password=False), str(snapshot))


_WORKER: list[tuple[Plan, Store, Engine]] = []  # a worker's plan and store, given at its start


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a list is derived: a million small objects, none
    in a cycle, make it walk every live object again and again (a third of a national list's
    time, measured). Reference counting still frees them; the collector resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _adopt(plan: Plan, store: Store) -> None:
    gc.disable()  # a worker lives for one list and makes no cycles (see collector_paused)
    _WORKER[:] = [(plan, store, make_engine(store.url, poolclass=NullPool))]


def _worker_range(lo: int, hi: int) -> list[LineInput]:
    plan, store, engine = _WORKER[0]
    if store.snapshot is None:
        with engine.connect().execution_options(**{READS_ONLY: True}) as conn:
            return chunk_inputs(plan.reader(conn, lo, hi), plan)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        if not _SNAPSHOT.fullmatch(store.snapshot):
            raise ValueError("not a PostgreSQL snapshot name")
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{store.snapshot}'")
        return chunk_inputs(plan.reader(conn, lo, hi), plan)


def _in_workers(
    ranges: list[tuple[int, int]], plan: Plan, store: Store, workers: int
) -> Iterator[LineInput]:
    # Forked workers start at once, inherit the loaded modules and receive the plan without
    # pickling (a formula holds functions). Each reads its ranges on its own connection
    # (never the caller's) and sends back only the small line inputs.
    context = get_context("fork")
    with ProcessPoolExecutor(workers, context, initializer=_adopt, initargs=(plan, store)) as pool:
        pending: deque[Future[list[LineInput]]] = deque()
        for lo, hi in ranges:
            pending.append(pool.submit(_worker_range, lo, hi))
            if len(pending) >= workers * IN_FLIGHT:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
