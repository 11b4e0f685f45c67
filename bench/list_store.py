"""A round of stored, scored applications for the list benchmark, written in bulk.

Submitting a million forms through `core.submissions.submit` and scoring each in the worker
would take hours, so the benchmark writes the rows those paths write, in bulk: a link and an
application per family (the cleaned form of `tests.support.households.varied`, its income and
identifiers varied per family), and the worker's score of each (`scoring.scores.compute`, the
same function the worker calls). What `lists build` and `lists verify` then read is what they
would read after a real round.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationStatus
from core.clock import beirut_day
from core.db import table, utcnow
from core.household import ineligibility
from core.links import Channel, Link
from core.programme import Programme, set_window
from core.references import check_digit
from scoring.formula import Formula
from scoring.scores import Score, compute, household_input, remember_formula, scoring_date
from scoring.variables import input_digest
from tests.support.households import varied

TEMPLATES = 997  # distinct households, a prime so income and shape vary independently
CHUNK = 10_000
_PLACES = {  # the sample geography of tests/support/factories.py: locality -> (gov, district)
    "21111": ("LB2", "LB21"),
    "21133": ("LB2", "LB21"),
    "22111": ("LB2", "LB22"),
    "10110": ("LB1", "LB11"),
    "35111": ("LB3", "LB35"),
    "34111": ("LB3", "LB34"),
}


def open_round(session: Session) -> Programme:
    """A round that opened yesterday; the caller closes it once the forms are in."""
    return set_window(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), "bench")


def seed(
    engine: Engine, session: Session, programme: Programme, count: int, formula: Formula
) -> None:
    """`count` applications of `programme`, each with its link and its worker's score."""
    remember_formula(session, formula)
    session.commit()
    templates = [orjson.dumps(varied(n)) for n in range(1, TEMPLATES + 1)]
    as_of = scoring_date(programme)
    submitted = utcnow() - timedelta(hours=1)
    with engine.begin() as conn:
        for start in range(1, count + 1, CHUNK):
            links, applications, scores = [], [], []
            for n in range(start, min(start + CHUNK, count + 1)):
                pages = _household(templates[n % TEMPLATES], n)
                links.append(_link(n, programme.id, submitted))
                applications.append(_application(n, programme.id, pages, submitted))
                scores.append(_score(n, pages, formula, as_of, applications[-1]))
            conn.execute(insert(table(Link)), links)
            conn.execute(insert(table(Application)), applications)
            conn.execute(insert(table(Score)), [s for s in scores if s is not None])
    with engine.begin() as conn:  # the planner's statistics, as autovacuum keeps them
        conn.exec_driver_sql("ANALYZE")


def _household(template: bytes, n: int) -> dict[str, Any]:
    pages: dict[str, Any] = orjson.loads(template)
    pages["personal"]["head_id_number"] = f"{100000000 + n}"
    pages["personal"]["registry_number"] = str(n)
    pages["personal"]["phone"] = f"+9613{n % 1_000_000:06d}"
    pages["finances"]["monthly_income"] = (n * 7919) % 3_000_000
    return pages


def _link(n: int, programme_id: int, at: datetime) -> dict[str, Any]:
    return {
        "id": n,
        "token_hash": hashlib.sha256(f"bench-{n}".encode()).hexdigest(),
        "channel": str(Channel.HOTLINE),
        "programme_id": programme_id,
        "language": "ar",
        "application_id": n,
        "draft": "{}",
        "created_at": at,
        "created_on": beirut_day(at),
        "expires_at": at + timedelta(days=2),
        "used_at": at,
    }


def reference(n: int) -> str:
    body = f"{100_000_000 + n:09d}"
    return body + check_digit(body)


def _application(n: int, programme_id: int, pages: dict[str, Any], at: datetime) -> dict[str, Any]:
    reason = ineligibility(pages)
    locality = str(pages["housing"]["residence_locality"])
    governorate, district = _PLACES[locality]
    return {
        "id": n,
        "reference": reference(n),
        "programme_id": programme_id,
        "link_id": n,
        "channel": str(Channel.HOTLINE),
        "phone": pages["personal"]["phone"],
        "language": "ar",
        "status": str(ApplicationStatus.INELIGIBLE if reason else ApplicationStatus.RECEIVED),
        "reason": str(reason) if reason else None,
        "version": 1,
        "score_relayed_version": 1,
        "data": json.dumps(pages, ensure_ascii=False),
        "submitted_at": at,
        "submitted_on": beirut_day(at),
        "governorate_code": governorate,
        "district_code": district,
        "locality_code": locality,
    }


def _score(
    n: int, pages: dict[str, Any], formula: Formula, as_of: Any, application: dict[str, Any]
) -> dict[str, Any] | None:
    household = household_input(pages, application["governorate_code"], as_of)
    result, index = compute(formula, household)
    return {
        "application_id": n,
        "version": 1,
        "formula_version": formula.version,
        "input_digest": input_digest(household),
        "value": result.value,
        "poverty_count": index.count,
        "deprived": ",".join(index.deprived),
        "contributions": json.dumps(result.contributions),
        "scored_at": application["submitted_at"],
    }
