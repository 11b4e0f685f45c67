"""Which gateway the send job uses: the one the settings it runs with name, whatever an
earlier app in the same process was given."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.plugins.fake_twilio import FakeTwilio
from tests.support.twilio_requests import HOTLINE, post_signed, service_on_fake_twilio


def text_help(app: Flask, phone: str, fake: FakeTwilio) -> None:
    """`phone` texts HELP to the app, which answers inline through its gateway."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    sid = fake.receive(phone, HOTLINE, "HELP")
    form = {"MessageSid": sid, "From": phone, "To": HOTLINE, "Body": "HELP"}
    assert post_signed(client, "/sms/inbound", form).status_code == 200


def test_a_second_app_sends_through_its_own_twilio_not_the_first_ones(
    engine: Engine, session_factory: sessionmaker[Session], fake_twilio: FakeTwilio
) -> None:
    first = service_on_fake_twilio(engine, session_factory, fake_twilio)
    text_help(first, "+9613000001", fake_twilio)
    assert [m["to"] for m in fake_twilio.messages] == ["+9613000001"]

    with FakeTwilio() as other_twilio:
        second = service_on_fake_twilio(engine, session_factory, other_twilio)
        text_help(second, "+9613000002", other_twilio)

        assert [m["to"] for m in other_twilio.messages] == ["+9613000002"]
    assert [m["to"] for m in fake_twilio.messages] == ["+9613000001"]  # nothing more here
