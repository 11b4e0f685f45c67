"""No live one-time link token is kept in the store (core/links.py `derive_token`).

A link's SMS is stored with `<link N>` where the token goes; the send job derives the token
again from the link's salt and SECRET_KEY. The raw SQLite file, and every row on PostgreSQL,
are searched for the token after it was texted; the token still opens the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

import sms.jobs
from assembly.app import create_app
from core.db import make_engine, make_sessionmaker, transaction, utcnow
from core.link_lifecycle import issue_link
from core.links import Channel, Link
from core.messages import Message, MessageStatus
from core.programme import set_window
from core.queue import job_context, use_job_context
from schema import migrate
from sms.gateway import OutgoingSms, RetryableSendError, SendResult
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.citizen_sms import text as text_1766
from tests.support.factories import load_sample_geography
from tests.support.twilio_requests import twilio_settings

CITIZEN = "+9613123456"
TOKEN_IN_SMS = re.compile(r"/f/([A-Za-z0-9_-]{20,})")


class Recorder:
    """A gateway that keeps what it was handed; it can refuse the first `failures` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[OutgoingSms] = []
        self.failures = failures

    def send(self, sms: OutgoingSms) -> SendResult:
        self.sent.append(sms)
        if self.failures:
            self.failures -= 1
            raise RetryableSendError("try again", "20429")
        return SendResult(provider_sid=f"SM{len(self.sent):032d}", status="queued")

    def find_sent(self, to: str, body: str, since: object) -> str | None:
        return next((f"SM{n:032d}" for n, s in enumerate(self.sent, 1) if s.body == body), None)


def open_round(session: Session) -> None:
    load_sample_geography(session)
    set_window(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=9), "test")
    session.commit()


def token_texted(fake_twilio: FakeTwilio) -> str:
    (body,) = [m["body"] for m in fake_twilio.messages if m["to"] == CITIZEN]
    found = TOKEN_IN_SMS.search(body)
    assert found, body
    return found.group(1)


# -- SQLite: the file itself ------------------------------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "intake.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    yield engine, path
    engine.dispose()


def test_the_sqlite_file_holds_no_live_token_after_a_link_is_texted(
    sqlite_file: tuple[Engine, Path], fake_twilio: FakeTwilio
) -> None:
    engine, path = sqlite_file
    app = create_app(twilio_settings(engine, twilio_api_base_url=fake_twilio.url))
    app.extensions["test.fake_twilio"] = fake_twilio
    with transaction(make_sessionmaker(engine)) as session:
        open_round(session)
    sms_client = app.test_client()
    sms_client.environ_base["wsgi.url_scheme"] = "https"

    assert text_1766(sms_client, "LINK") == []  # the link SMS is the answer
    token = token_texted(fake_twilio)
    engine.dispose()

    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"<link " in stored  # the message is there, with the link's id in its place
    assert token.encode() not in stored
    assert sms_client.get(f"/f/{token}").status_code == 200  # and the texted link works


# -- PostgreSQL (and SQLite again): every row ------------------------------------------------


def every_row(db: Session, table: str) -> str:
    """The table's rows as text, whatever their columns."""
    if db.get_bind().dialect.name == "postgresql":
        return "\n".join(db.scalars(text(f"SELECT t::text FROM {table} t")))  # noqa: S608
    return "\n".join(repr(tuple(row)) for row in db.execute(text(f"SELECT * FROM {table}")))  # noqa: S608


def test_no_row_holds_the_token_of_a_link_texted_by_sms(
    sms_client: FlaskClient, db: Session, fake_twilio: FakeTwilio
) -> None:
    open_round(db)

    text_1766(sms_client, "LINK")

    token = token_texted(fake_twilio)
    db.expire_all()
    for table in ("messages", "links", "webhook_replies", "audit_events"):
        assert token not in every_row(db, table), table
    message = db.scalars(select(Message).where(Message.purpose == "form_link")).one()
    link = db.scalars(select(Link).where(Link.message_id == message.id)).one()
    assert message.body.endswith(f"/f/<link {link.id}>")  # what the message log shows
    assert sms_client.get(f"/f/{token}").status_code == 200


def test_a_retried_send_texts_the_same_link(sms_app: Flask, db: Session) -> None:
    """The token is derived again on every attempt: a retry sends exactly the first text."""
    from core.citizen_requests import send_form_link
    from texts.sms import compose

    open_round(db)
    recorder = Recorder(failures=1)
    sms.jobs.use_gateway(recorder)
    with sms_app.test_request_context():
        settings = sms_app.config["INTAKE_SETTINGS"]
        owed = send_form_link(db, CITIZEN, "en", settings, CITIZEN, compose).owed
    db.commit()
    (message_id,) = owed.message_ids

    sms.jobs.send_message(message_id)  # refused for now: back to the outbox
    db.get_one(Message, message_id).next_attempt_at = utcnow()
    db.commit()
    sms.jobs.send_message(message_id)

    first, second = recorder.sent
    assert first.body == second.body and "<link" not in first.body
    found = TOKEN_IN_SMS.search(first.body)
    assert found and sms_app.test_client().get(f"/f/{found.group(1)}").status_code == 200


def test_a_link_whose_key_changed_is_failed_not_sent_dead(sms_app: Flask, db: Session) -> None:
    from core.citizen_requests import send_form_link
    from texts.sms import compose

    open_round(db)
    recorder = Recorder()
    sms.jobs.use_gateway(recorder)
    with sms_app.test_request_context():
        settings = sms_app.config["INTAKE_SETTINGS"]
        owed = send_form_link(db, CITIZEN, "en", settings, CITIZEN, compose).owed
    db.commit()
    rotated = replace(sms_app.config["INTAKE_SETTINGS"], secret_key="another-key-" + "y" * 40)
    use_job_context(replace(job_context(), settings=rotated))  # the app's store, another key

    sms.jobs.send_message(owed.message_ids[0])

    assert recorder.sent == []
    message = db.get_one(Message, owed.message_ids[0])
    db.refresh(message)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "link_key")


def test_a_link_issued_without_a_key_keeps_working_as_before(db: Session) -> None:
    """Assisted entries and older links have no salt: their token is random, shown once."""
    open_round(db)
    link, token = issue_link(db, None, None, "ar", Channel.ASSISTED)
    assert link.token_salt is None and len(token) == 24


# -- the migration: link SMS sent before it lose their token -----------------------------------


def test_the_migration_redacts_the_tokens_of_link_sms_already_sent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0010")
    sent = "1766: fill the assistance form once, here: https://x.test/f/" + "A" * 24
    owed = "1766: fill the assistance form once, here: https://x.test/f/" + "B" * 24
    with engine.begin() as conn:
        for body, status in ((sent, "delivered"), (owed, "pending")):
            conn.execute(
                text(
                    "INSERT INTO messages (direction, phone, body, language, purpose, status, "
                    "segments, attempts, created_at, updated_at) VALUES ('outbound', :phone, "
                    ":body, 'en', 'form_link', :status, 1, 0, :now, :now)"
                ),
                {"phone": CITIZEN, "body": body, "status": status, "now": utcnow().isoformat()},
            )

    migrate.upgrade(engine)

    with engine.connect() as conn:
        bodies = dict(conn.execute(text("SELECT status, body FROM messages")).all())
    engine.dispose()
    assert bodies["delivered"].endswith("/f/[redacted]")
    assert bodies["pending"] == owed  # still to be sent as it was written


def test_a_link_sms_owed_before_the_upgrade_loses_its_token_once_sent(
    sms_app: Flask, db: Session
) -> None:
    """Written with the token (before migration 0011): sent as written, then redacted."""
    from core.notifications import Sms, owe_text
    from core.sms_policy import Occasion

    recorder = Recorder()
    sms.jobs.use_gateway(recorder)
    legacy = "1766: fill the assistance form once, here: https://x.test/f/" + "C" * 24
    owing = owe_text(db, Sms(CITIZEN, legacy, "en", "form_link"), Occasion.ANSWER)
    db.commit()

    sms.jobs.send_message(owing.message_id)

    (sent,) = recorder.sent
    assert sent.body == legacy
    message = db.get_one(Message, owing.message_id)
    db.refresh(message)
    assert message.body.endswith("/f/[redacted]") and "C" * 24 not in message.body
