"""Worker jobs for scoring: score one application, and sweep up what was never scored.

Both are safe to run twice and at once: a score is unique per application version and
formula, and a job that finds one already stored does nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from core.queue import Work, job_settings, job_transaction, make_runner
from core.score_requests import dispatch_scoring
from scoring.formula import Formula
from scoring.scores import formula_at, remember_formula, store_score, unscored

log = logging.getLogger(__name__)


def formula() -> Formula:
    """The formula this process scores with (SCORING_FORMULA, or the shipped one)."""
    return formula_at(job_settings().scoring_formula)


def score_application(application_id: int) -> None:
    """Score the application's current version, once."""
    current = formula()
    for attempt in range(2):
        try:
            with job_transaction() as session:
                key = (str(session.get_bind().engine.url), current.version)
                if attempt or key not in _formula_stored:
                    remember_formula(session, current)
                store_score(session, application_id, current)
            _formula_stored.add(key)
            return
        except IntegrityError:
            # The formula was not stored after all (a store restored, another worker storing
            # it at the same moment): the second attempt stores or finds it, then scores.
            log.info("application %s: formula not yet stored, checking again", application_id)


# (database, formula version) this process has stored or checked: one query saved per job.
_formula_stored: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class SweepReport:
    queued: int  # applications found unscored and offered to the queue


def sweep(limit: int = 5000) -> SweepReport:
    """Offer every unscored application to the queue again (what Redis being down left)."""
    with job_transaction() as session:
        owed = unscored(session, formula().version, limit)
    runner = make_runner(job_settings().redis_url, {Work.SCORE_APPLICATION: score_application})
    for application_id, version in owed:
        dispatch_scoring(runner, application_id, version, new=False)
    return SweepReport(queued=len(owed))
