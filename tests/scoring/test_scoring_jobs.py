"""The scoring worker: every submission and every approved correction gets its score, once."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from assembly.jobs import JOBS
from assembly.settings import load_settings
from core.applications import Application
from core.clock import beirut_today
from core.correction_changes import Change
from core.db import utcnow
from core.programme import set_window
from core.queue import RedisRunner
from core.roles import Role
from core.score_requests import dispatch_scoring
from core.settings import Settings, SettingsError
from scoring import jobs
from scoring.formula import load_formula
from scoring.scores import FormulaRecord, Score, latest_score, unscored
from scoring.variables import HouseholdInput, input_digest
from tests.plugins.citizen_forms import fill, newest_token, send_link
from tests.support.factories import (
    HOME,
    PASSWORD,
    approved_correction,
    load_sample_geography,
    make_user,
)
from tests.support.households import pages, submitted
from tests.support.rq_worker import work_through
from tests.support.staff_web import sign_in

RULES = {"today": beirut_today()}


def _scores(db: Session, application_id: int) -> list[Score]:
    db.expire_all()
    stmt = select(Score).where(Score.application_id == application_id).order_by(Score.id)
    return list(db.scalars(stmt))


@pytest.fixture
def round_open(db: Session) -> None:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    db.commit()


def test_a_submitted_form_is_scored_with_its_reasons(
    app: Flask, client: FlaskClient, db: Session, round_open: None
) -> None:
    make_user(db, Role.FOCAL_POINT, HOME, username="focal-s")
    db.commit()
    sign_in(client, "focal-s", PASSWORD)
    send_link(client)
    fill(app.test_client(), f"/f/{newest_token(db)}", pages(1))
    application = db.scalars(select(Application)).one()
    [score] = _scores(db, application.id)
    assert (score.version, score.formula_version) == (1, load_formula().version)
    contributions = score.contribution_map()
    assert round(sum(contributions.values()) + load_formula().intercept, 6) == pytest.approx(
        score.value, abs=1e-5
    )
    # The household size and the income per person are among the reasons a score has.
    assert contributions["log_household_size"] < 0 and "log_income_per_capita" in contributions
    household = HouseholdInput(
        application.pages(), date(*_opening(db)), application.governorate_code
    )
    assert score.input_digest == input_digest(household)


def _opening(db: Session) -> tuple[int, int, int]:
    from core.clock import in_beirut
    from core.programme import Programme

    opened = in_beirut(db.scalars(select(Programme)).one().opens_at)
    return opened.year, opened.month, opened.day


def test_an_approved_correction_is_scored_again_and_the_first_score_kept(
    app: Flask, db: Session, round_open: None
) -> None:
    application = submitted(db, 1)
    db.commit()
    jobs.score_application(application.id)
    richer = Change("monthly_income", "40000000", "a new job", "payslip seen")
    approved_correction(db, application, richer)
    assert (application.id, 2) in unscored(db, load_formula().version)  # the sweep owes it
    jobs.score_application(application.id)
    first, second = _scores(db, application.id)
    assert (first.version, second.version) == (1, 2)
    assert second.value > first.value  # more income per person: less predicted need
    assert latest_score(db, application.id) == second
    assert application.id not in dict(unscored(db, load_formula().version))


def test_a_job_run_twice_stores_one_score(app: Flask, db: Session, round_open: None) -> None:
    application = submitted(db, 2)
    db.commit()
    jobs.score_application(application.id)
    jobs.score_application(application.id)
    assert len(_scores(db, application.id)) == 1
    jobs.score_application(987654321)  # an application that is gone: nothing to do, no error


def test_scoring_runs_in_a_worker_through_real_redis(
    app: Flask, db: Session, round_open: None, redis_url: str, queue_prefix: str
) -> None:
    application = submitted(db, 3)
    db.commit()
    runner = RedisRunner(redis_url, prefix=queue_prefix, jobs=JOBS)
    dispatch_scoring(runner, application.id, application.version)
    # The sweep passing by before the worker: the job already waiting is not queued twice.
    dispatch_scoring(runner, application.id, application.version, new=False)
    queue = runner.queue("scoring")
    assert queue.count == 1
    assert _scores(db, application.id) == []  # it waits in Redis
    work_through([queue], Redis.from_url(redis_url))
    assert len(_scores(db, application.id)) == 1


def test_the_sweep_scores_what_a_lost_queue_never_ran(
    app: Flask, db: Session, round_open: None
) -> None:
    lost = [submitted(db, n) for n in (4, 5)]
    db.commit()
    report = jobs.sweep()
    assert report.queued == 2
    assert all(len(_scores(db, a.id)) == 1 for a in lost)
    assert jobs.sweep().queued == 0


def test_the_sweep_scores_a_correction_whose_job_was_lost(
    app: Flask, db: Session, round_open: None
) -> None:
    """A corrected version is owed its score by having none: no table of requests keeps it."""
    application = submitted(db, 6)
    db.commit()
    jobs.score_application(application.id)
    approved_correction(db, application, Change("rooms", "5", "counted again", "visit"))
    db.commit()  # and the queue was down: no job was enqueued
    assert jobs.sweep().queued == 1
    assert [score.version for score in _scores(db, application.id)] == [1, 2]
    assert jobs.sweep().queued == 0
    assert not inspect(db.get_bind()).has_table("score_requests")


def test_the_scoring_formula_setting_is_checked_at_start(tmp_path: Path) -> None:
    base = {"INTAKE_ENV": "development"}
    missing = tmp_path / "nope.json"
    with pytest.raises(SettingsError, match=r"SCORING_FORMULA: .*nope\.json: cannot be read"):
        Settings.from_env({**base, "SCORING_FORMULA": str(missing)})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError, match="SCORING_FORMULA"):
        load_settings({**base, "SCORING_FORMULA": str(broken)})
    fitted = tmp_path / "fitted.json"
    data = json.loads(load_formula().to_json())
    data.update(version="fitted-2020.2", illustrative=False)
    fitted.write_text(json.dumps(data), encoding="utf-8")
    chosen = load_settings({**base, "SCORING_FORMULA": str(fitted)})
    assert chosen.scoring_formula == str(fitted.resolve())


def test_the_scorer_process_command_queues_what_is_unscored(
    runner: FlaskCliRunner, db: Session, round_open: None
) -> None:
    lost = submitted(db, 6)
    db.commit()
    first = runner.invoke(args=["scoring", "sweep"])
    assert (first.exit_code, first.output.strip()) == (0, "queued 1")
    assert len(_scores(db, lost.id)) == 1  # inline here: no Redis configured
    assert runner.invoke(args=["scoring", "sweep"]).output.strip() == "queued 0"


def test_a_worker_that_believes_the_formula_stored_still_scores_when_it_is_not(
    app: Flask, db: Session, round_open: None
) -> None:
    application = submitted(db, 7)
    db.commit()
    url = str(db.get_bind().engine.url)
    jobs._formula_stored.add((url, load_formula().version))  # e.g. the store was restored
    jobs.score_application(application.id)
    assert len(_scores(db, application.id)) == 1
    assert db.get(FormulaRecord, load_formula().version) is not None
