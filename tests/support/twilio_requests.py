"""Requests made the way Twilio makes them: form-encoded, signed over the public URL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from core.settings import Settings, SmsBackend
from tests.conftest import settings_for
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

PUBLIC = "https://intake.test"
HOTLINE = "+9611766"  # the number citizens call and text (the `To` of every request)


def twilio_settings(engine: Engine, **overrides: object) -> Settings:
    """Settings of a service on Twilio, whose webhooks are signed with `AUTH_TOKEN`."""
    values: dict[str, object] = {
        "sms_backend": SmsBackend.TWILIO,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": "+15005550006",
        "public_base_url": PUBLIC,
    }
    values.update(overrides)
    return settings_for(engine.url.render_as_string(hide_password=False), **values)


def service_on_fake_twilio(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeTwilio,
) -> Flask:
    """The service on Twilio settings, its SMS reaching `fake` (jobs inline, a fresh gateway)."""
    from assembly.app import create_app

    app = create_app(
        twilio_settings(engine, twilio_api_base_url=fake.url), session_factory=session_factory
    )
    app.config["TESTING"] = True
    app.extensions["test.fake_twilio"] = fake  # where tests read the SMS that came back
    return app


def signature(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


def post_signed(client: FlaskClient, path: str, form: dict[str, str], **kwargs: Any) -> Any:
    """POST `form` to `path` (with its query string) signed as Twilio signs it."""
    headers = {"X-Twilio-Signature": signature(PUBLIC + path, form)}
    return client.post(path, data=form, headers=headers, **kwargs)
