"""Call-backs in the municipality's console: only those 1766 gave this municipality, the number
masked until asked for (and that look audited), marked as called back once."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.callback_requests import (
    CallbackRequest,
    CallbackStatus,
    assign_callback,
    request_callback,
)
from core.roles import Role
from tests.support.factories import ELSEWHERE, HOME, area, load_sample_geography, make_user
from tests.support.staff_web import csrf, sign_in

MINE, THEIRS, UNROUTED = "+9613111222", "+9613333444", "+9613555666"


@pytest.fixture
def callbacks(db: Session) -> dict[str, CallbackRequest]:
    """One call-back given to this municipality, one to another, one not routed yet."""
    load_sample_geography(db)
    make_user(db, Role.FOCAL_POINT, HOME, username="focal")
    make_user(db, Role.MUKHTAR, HOME, username="mukhtar")
    make_user(db, Role.QAIMAQAM, "LB32", username="qaimaqam")
    made = {}
    for phone, town in ((MINE, HOME), (THEIRS, ELSEWHERE), (UNROUTED, None)):
        made[phone] = request_callback(db, phone=phone, language="ar", town_recording_url=None)
        if town:
            assign_callback(db, made[phone], area(db, town), "agent-a")
    db.commit()
    return made


def audited(db: Session, action: str, callback: CallbackRequest) -> int:
    db.expire_all()
    return int(
        db.scalar(
            select(func.count()).where(
                AuditEvent.action == action, AuditEvent.object_id == str(callback.id)
            )
        )
        or 0
    )


def signed_in(client: FlaskClient, username: str = "focal") -> FlaskClient:
    sign_in(client, username)
    return client


def test_a_focal_point_sees_only_the_call_backs_given_to_their_municipality(
    client: FlaskClient, callbacks: dict[str, CallbackRequest]
) -> None:
    html = signed_in(client).get("/console/callbacks").get_data(as_text=True)
    assert html.count('class="callback-row"') == 1
    assert "+9613•••222" in html
    assert MINE not in html  # masked until asked for
    assert "•••444" not in html and "•••666" not in html


def test_the_console_home_offers_the_call_backs(
    client: FlaskClient, callbacks: dict[str, CallbackRequest]
) -> None:
    home = signed_in(client, "mukhtar").get("/console").get_data(as_text=True)
    assert 'href="/console/callbacks"' in home


def test_roles_that_do_not_fill_forms_cannot_open_the_page(
    client: FlaskClient, callbacks: dict[str, CallbackRequest]
) -> None:
    assert signed_in(client, "qaimaqam").get("/console/callbacks").status_code == 403
    assert 'href="/console/callbacks"' not in client.get("/console").get_data(as_text=True)


def test_showing_the_number_is_audited(
    client: FlaskClient, db: Session, callbacks: dict[str, CallbackRequest]
) -> None:
    mine = callbacks[MINE]
    signed_in(client)
    token = csrf(client, "/console/callbacks")
    shown = client.post(f"/console/callbacks/{mine.id}/number", data={"csrf_token": token})
    assert shown.status_code == 200
    assert f'href="tel:{MINE}"' in shown.get_data(as_text=True)
    assert audited(db, "callback.viewed", mine) == 1
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "callback.viewed")).one()
    assert event.actor == "focal" and MINE not in (event.details or "")


def test_marking_as_called_back_is_done_once_and_audited(
    client: FlaskClient, db: Session, callbacks: dict[str, CallbackRequest]
) -> None:
    mine = callbacks[MINE]
    signed_in(client)
    token = csrf(client, "/console/callbacks")
    for _ in range(2):
        done = client.post(f"/console/callbacks/{mine.id}/done", data={"csrf_token": token})
        assert done.status_code == 302
    db.expire_all()
    assert db.get_one(CallbackRequest, mine.id).status == CallbackStatus.DONE
    assert audited(db, "callback.done", mine) == 1
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="done"' in page and "/done" not in page


@pytest.mark.parametrize("phone", [THEIRS, UNROUTED])
@pytest.mark.parametrize("step", ["done", "number"])
def test_another_municipalitys_or_an_unrouted_call_back_is_not_found(
    client: FlaskClient,
    db: Session,
    callbacks: dict[str, CallbackRequest],
    phone: str,
    step: str,
) -> None:
    other = callbacks[phone]
    signed_in(client)
    token = csrf(client, "/console/callbacks")
    refused = client.post(f"/console/callbacks/{other.id}/{step}", data={"csrf_token": token})
    assert refused.status_code == 404 and phone not in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get_one(CallbackRequest, other.id).status != CallbackStatus.DONE
    assert audited(db, "callback.done", other) == audited(db, "callback.viewed", other) == 0


def test_posts_without_a_csrf_token_are_refused(
    client: FlaskClient, db: Session, callbacks: dict[str, CallbackRequest]
) -> None:
    mine = callbacks[MINE]
    signed_in(client)
    assert client.post(f"/console/callbacks/{mine.id}/done").status_code == 400
    assert client.post(f"/console/callbacks/{mine.id}/number").status_code == 400
    assert audited(db, "callback.done", mine) == audited(db, "callback.viewed", mine) == 0


def test_the_fill_the_form_button_starts_an_assisted_form(
    client: FlaskClient, db: Session, callbacks: dict[str, CallbackRequest]
) -> None:
    from datetime import timedelta

    from core.db import utcnow
    from core.programme import set_window

    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    db.commit()
    html = signed_in(client).get("/console/callbacks").get_data(as_text=True)
    assert 'action="/console/forms/new"' in html
    started = client.post("/console/forms/new", data={"csrf_token": csrf(client, "/console")})
    assert started.status_code == 302 and "/console/forms/" in started.headers["Location"]
