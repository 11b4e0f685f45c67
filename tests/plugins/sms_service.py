"""The service on Twilio settings, its SMS reaching the test's fake Twilio (jobs inline): what
the SMS, SMS policy, link-token and needs-reminder tests share."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.plugins.fake_twilio import FakeTwilio
from tests.support.twilio_requests import service_on_fake_twilio


@pytest.fixture
def sms_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake_twilio: FakeTwilio,
) -> Flask:
    """The service on Twilio, whose REST calls reach this test's fake Twilio (jobs inline)."""
    return service_on_fake_twilio(engine, session_factory, fake_twilio)


@pytest.fixture
def sms_client(sms_app: Flask) -> FlaskClient:
    """A client of `sms_app` on https, as Twilio and citizens reach the service."""
    test_client = sms_app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client
