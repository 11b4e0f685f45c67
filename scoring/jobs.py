"""Worker jobs for scoring: score one application, and sweep up what was never scored.

Both are safe to run twice and at once: a score is unique per application version and
formula, and a job that finds one already stored does nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from core.queue import job_settings, job_transaction, make_runner
from core.score_requests import dispatch_scoring
from scoring.formula import Formula
from scoring.scores import formula_at, unscored
from scoring.scores import score_application as store_score

log = logging.getLogger(__name__)


def formula() -> Formula:
    """The formula this process scores with (SCORING_FORMULA, or the shipped one)."""
    return formula_at(job_settings().scoring_formula)


def score_application(application_id: int) -> None:
    """Score the application's current version, once."""
    for _attempt in range(2):
        try:
            with job_transaction() as session:
                store_score(session, application_id, formula())
            return
        except IntegrityError:
            # Another worker stored the same formula or score between our read and our
            # insert: the second attempt finds it and has nothing left to do.
            log.info("application %s: scored concurrently, checking again", application_id)


@dataclass(frozen=True)
class SweepReport:
    queued: int  # applications found unscored and offered to the queue


def sweep(limit: int = 5000) -> SweepReport:
    """Offer every unscored application to the queue again (what Redis being down left)."""
    with job_transaction() as session:
        owed = unscored(session, formula().version, limit)
    runner = make_runner(job_settings().redis_url)
    for application_id, version in owed:
        dispatch_scoring(runner, application_id, version, new=False)
    return SweepReport(queued=len(owed))
