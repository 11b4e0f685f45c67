"""The complaint room can say why a family scored as it did, and where it stands on the list."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.programme import Programme, set_window
from core.roles import Role
from scoring import jobs
from scoring.formula import load_formula
from scoring.lists import Quota, build_list
from scoring.scores import latest_score
from tests.support.factories import load_sample_geography, make_user
from tests.support.households import submitted
from tests.support.ivr_caller import CALLER, queued_call
from tests.support.staff_web import client_for, csrf


def test_the_caller_page_gives_the_score_its_reasons_and_the_list_outcome(
    app: Flask, db: Session
) -> None:
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), "test")
    agent = make_user(db, Role.AGENT, "LB", "agent-x")
    agent.language, agent.phone = "en", "+9611555444"
    application = submitted(db, 1, phone=CALLER)
    db.commit()
    agent_page = client_for(app, "agent-x")
    before = queued_call(db, sid="CA" + "2" * 32)
    taken = agent_page.post("/hotline/take-next", data={"csrf_token": csrf(agent_page, "/hotline")})
    assert taken.location.endswith(f"/hotline/calls/{before.id}")
    assert "Not scored yet." in agent_page.get(taken.location).get_data(as_text=True)

    jobs.score_application(application.id)
    programme = db.scalars(select(Programme)).one()
    built = build_list(db, programme, 5, Quota.NATIONAL, load_formula())
    db.commit()
    page = agent_page.get(taken.location).get_data(as_text=True)
    score = latest_score(db, application.id)
    assert score is not None
    assert f"Selected on list {built.id}" in page
    assert f"{score.value:.3f}" in page and "illustrative" in page
    # Three people and their income per person are read out as plain sentences.
    assert "Household of 3 people: this points to greater need." in page
    assert "Income per person: 500,000 LBP a month: this points to" in page
