"""Home visits over HTTP: the ministry draws a sample of a municipality's forms, sees its seed
and progress, and records each visit once; refused draws and visits write nothing; nobody but
the ministry reaches the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.db import utcnow
from core.home_visits import SampleVisit, VisitSample, drawn_ids, redraw_matches
from core.programme import set_window
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import HOME, audit_events, load_sample_geography, rows_of
from tests.support.households import submitted
from tests.support.quick_accounts import account
from tests.support.staff_web import csrf, sign_in

VISITORS = {
    "ministry": (Role.MINISTRY, "LB"),
    "focal": (Role.FOCAL_POINT, HOME),
    "inspector": (Role.INSPECTOR, "LB"),
}


@pytest.fixture
def visit_area(db: Session) -> None:
    """Five families' forms in the home municipality, none elsewhere."""
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "test")
    for n in range(1, 6):
        submitted(db, n, phone=f"+96131234{n:02d}")
    db.commit()


def visitor(client: FlaskClient, db: Session, username: str) -> FlaskClient:
    if db.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
        account(db, username, *VISITORS[username])
        db.commit()
    sign_in(client, username)
    client.get("/language/en")
    return client


def draw(client: FlaskClient, fields: dict[str, str]) -> TestResponse:
    return client.post("/console/visits", data={**fields, "csrf_token": csrf(client, "/console")})


def test_a_sample_is_drawn_visited_and_counted(
    client: FlaskClient, db: Session, visit_area: None
) -> None:
    ministry = visitor(client, db, "ministry")
    assert 'id="visits-link"' in ministry.get("/console").get_data(as_text=True)
    drawn = draw(ministry, {"area": HOME, "amount": "3", "unit": "size"})
    assert drawn.status_code == 302
    sample = db.scalars(select(VisitSample)).one()
    page = ministry.get(drawn.location).get_data(as_text=True)
    assert sample.seed in page and "Visited: 0 of 3" in page and "The same list" in page
    assert redraw_matches(db, sample)
    visits = db.scalars(select(SampleVisit).order_by(SampleVisit.position)).all()
    assert [v.application_id for v in visits] == drawn_ids(db, sample)
    path = f"/console/visits/{sample.id}/{visits[0].id}"
    token = csrf(ministry, drawn.location)
    blank = ministry.post(path, data={"result": "different", "note": "", "csrf_token": token})
    assert blank.status_code == 400 and "Say what was different" in blank.get_data(as_text=True)
    done = ministry.post(
        path, data={"result": "different", "note": "Six live there", "csrf_token": token}
    )
    assert done.status_code == 302
    page = ministry.get(done.location).get_data(as_text=True)
    assert "Visited: 1 of 3" in page and "Six live there" in page
    again = ministry.post(path, data={"result": "confirmed", "csrf_token": token})
    assert again.status_code == 409 and "recorded already" in again.get_data(as_text=True)
    listing = ministry.get("/console/visits").get_data(as_text=True)
    assert re.search(r'data-done="1" data-total="3"', listing)
    assert len(audit_events(db, "sample.drawn")) == 1
    assert [e.object_id for e in audit_events(db, "visit.recorded")] == [str(visits[0].id)]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"area": HOME, "amount": "0", "unit": "size"}, "from 1 to 500"),
        ({"area": HOME, "amount": "6", "unit": "size"}, "only 5 forms"),
        ({"area": HOME, "amount": "-1", "unit": "size"}, "whole number"),
        ({"area": HOME, "amount": "2.5", "unit": "percent"}, "whole number"),
        ({"area": HOME, "amount": "", "unit": "size"}, "either a number"),
        ({"area": HOME, "amount": "101", "unit": "percent"}, "from 1 to 100"),
        ({"area": "LB3", "amount": "1", "unit": "size"}, "not a governorate"),
        ({"area": "<script>", "amount": "1", "unit": "size"}, "No municipality"),
        ({"area": "10110", "amount": "1", "unit": "size"}, "no form to visit"),
    ],
)
def test_bad_draws_write_nothing(
    client: FlaskClient, db: Session, visit_area: None, fields: dict[str, str], says: str
) -> None:
    refused = draw(visitor(client, db, "ministry"), fields)
    assert refused.status_code == 400 and says in refused.get_data(as_text=True)
    assert rows_of(db, VisitSample) == 0 and rows_of(db, SampleVisit) == 0


def test_only_the_ministry_reaches_home_visits(
    client: FlaskClient, db: Session, visit_area: None
) -> None:
    ministry = visitor(client, db, "ministry")
    draw(ministry, {"area": HOME, "amount": "40", "unit": "percent"})
    sample = db.scalars(select(VisitSample)).one()
    assert sample.size == 2  # 40 % of 5
    visit_id = db.scalars(select(SampleVisit.id)).first()
    assert ministry.get(f"/console/visits/{sample.id + 1}").status_code == 404
    assert ministry.get(f"/console/visits/{sample.id}/{visit_id}").status_code == 405
    other = client.application.test_client()
    for username in ("focal", "inspector"):
        outsider = visitor(other, db, username)
        assert outsider.get("/console/visits").status_code == 403
        assert outsider.get(f"/console/visits/{sample.id}").status_code == 403
        other = client.application.test_client()
