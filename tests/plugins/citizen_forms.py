"""A round open for forms, a focal point who texts links, and the citizen's form filled page by
page: what the form, relay, overload and scoring tests share."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.link_tokens import with_tokens
from core.messages import Message
from core.programme import set_window
from core.roles import Role
from core.users import StaffUser
from tests.conftest import settings_for
from tests.support.factories import HOME, PASSWORD, load_sample_geography, make_user
from tests.support.staff_web import csrf, sign_in

TOKEN_IN_SMS = re.compile(r"/f/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def open_round(db: Session) -> None:
    """The sample localities, and a round whose window is open now."""
    load_sample_geography(db)
    set_window(db, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
    db.commit()


@pytest.fixture
def focal(db: Session, open_round: None) -> StaffUser:
    """A focal point of HOME (Chiyah), pledged, in the open round."""
    user = make_user(db, Role.FOCAL_POINT, HOME, username="focal")
    db.commit()
    return user


def send_link(client: FlaskClient, phone: str = "03 123 456", language: str = "ar") -> Any:
    token = csrf(client, "/console/links")
    return client.post(
        "/console/links", data={"phone": phone, "language": language, "csrf_token": token}
    )


def newest_token(db: Session) -> str:
    db.expire_all()
    message = db.scalars(
        select(Message).where(Message.purpose == "form_link").order_by(Message.id.desc())
    ).first()
    assert message is not None
    # The store keeps `<link N>`, never the token: derived again as the send job does.
    body = with_tokens(db, message.body, settings_for("sqlite://").secret_key)
    found = TOKEN_IN_SMS.search(body)
    assert found, body
    return found.group(1)


def fill(client: FlaskClient, base: str, household: dict[str, Any], upto: str = "finances") -> Any:
    response = None
    for page, values in household.items():
        response = client.post(f"{base}/{page}", data=values)
        if page == upto:
            break
    return response


@pytest.fixture
def citizen_link(client: FlaskClient, focal: StaffUser, db: Session) -> str:
    sign_in(client, "focal", PASSWORD)
    assert send_link(client).status_code == 302
    return newest_token(db)
