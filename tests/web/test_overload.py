"""Overload is an answer: each entry past a tiny limit, and the store down, answer busy at once.

A limit is reached by holding its slots the way in-flight requests hold them (the limiter is
per process, so the test takes them directly); every answer is then what a caller, a family
or a staff member would get on launch day. /healthz and /metrics show the queues and count
what was shed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.callback_requests import CallbackRequest
from core.db import make_engine, utcnow
from core.inbox import RawSms, keep
from core.links import Link
from core.messages import Direction, Message, MessageStatus
from tests.conftest import settings_for, unavailable
from tests.plugins.citizen_forms import fill
from tests.support.households import pages
from tests.support.ivr_caller import VOICES, Phone
from tests.support.staff_web import sign_in
from tests.support.twilio_requests import PUBLIC, twilio_settings
from web import overload

DEAD_STORE = "postgresql+psycopg://postgres@127.0.0.1:9/nothing"  # nothing listens on port 9


@contextmanager
def limit_reached(app: Flask, entry: str) -> Iterator[None]:
    """Every slot of `entry` taken, as by requests still working; given back afterwards."""
    limiter = overload.entry_named(app, entry).limiter
    assert limiter.limit > 0
    for _ in range(limiter.limit):
        assert limiter.try_enter()
    try:
        yield
    finally:
        for _ in range(limiter.limit):
            limiter.leave()


def shed_count(client: FlaskClient, entry: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        if family.name == "intake_shed":
            for sample in family.samples:
                if sample.name == "intake_shed_total" and sample.labels["entry"] == entry:
                    return sample.value
    return 0.0


def callbacks(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(CallbackRequest)) or 0)


def assert_busy_twiml(twiml: ET.Element, lang: str | None) -> None:
    """Said in Arabic, English then French; any key (or silence) reaches the busy step."""
    assert twiml.tag == "Response"
    gather = twiml.find("./Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    expected = f"{PUBLIC}/ivr/busy" + (f"?lang={lang}" if lang else "")
    assert gather.get("action") == expected
    voices = [(say.get("voice"), say.get("language")) for say in gather.findall("./Say")]
    assert voices == [VOICES["ar"], VOICES["en"], VOICES["fr"]]
    said = [say.text or "" for say in gather.findall("./Say")]
    assert "1766" in said[0] and "رابط" in said[0]
    assert "LINK" in said[1] and "press 1" in said[1]
    assert "LIEN" in said[2]


@pytest.fixture
def ivr_app_without_fake_twilio(engine: Engine, session_factory: sessionmaker[Session]) -> Flask:
    app = create_app(twilio_settings(engine), session_factory=session_factory)
    app.config["TESTING"] = True
    return app


def test_a_call_past_the_ivr_limit_hears_busy_and_pressing_1_files_one_call_back(
    ivr_app_without_fake_twilio: Flask, db: Session
) -> None:
    phone = Phone(ivr_app_without_fake_twilio.test_client())
    with limit_reached(ivr_app_without_fake_twilio, "ivr"):
        assert_busy_twiml(phone.dial(), lang=None)
        shed_before = shed_count(ivr_app_without_fake_twilio.test_client(), "ivr")
        phone.dial()
        assert shed_count(ivr_app_without_fake_twilio.test_client(), "ivr") == shed_before + 1
        # The key is answered while every line is still busy: that step is never shed.
        thanks = phone.press("1")
        assert thanks.find("./Hangup") is not None
        assert [say.get("voice") for say in thanks.findall("./Say")] == [
            VOICES[code][0] for code in ("ar", "en", "fr")
        ]
        assert callbacks(db) == 1
        phone.post(f"{PUBLIC}/ivr/busy", "1")  # Twilio retries the same webhook
        assert callbacks(db) == 1
    request = db.scalars(select(CallbackRequest)).one()
    assert request.phone == phone.number and request.status == "open"
    # The load fell: the same process takes calls again, with no restart.
    menu = phone.dial()
    assert menu.find("./Gather") is not None and "/ivr/language" in action_of(menu)


def action_of(twiml: ET.Element) -> str:
    gather = twiml.find("./Gather")
    return "" if gather is None else gather.get("action", "")


def test_a_caller_who_chose_a_language_is_thanked_in_it_and_silence_files_nothing(
    ivr_app_without_fake_twilio: Flask, db: Session
) -> None:
    phone = Phone(ivr_app_without_fake_twilio.test_client())
    phone.dial()
    phone.press("2")  # English: the main menu
    with limit_reached(ivr_app_without_fake_twilio, "ivr"):
        assert_busy_twiml(phone.press("4"), lang="en")
        goodbye = phone.press("")  # silence
        assert goodbye.find("./Hangup") is not None and callbacks(db) == 0
        second = Phone(ivr_app_without_fake_twilio.test_client(), sid="CA" + "2" * 32)
        second.dial()
        thanks = second.press("1")
    assert callbacks(db) == 1
    assert thanks.find("./Hangup") is not None


def test_a_form_page_past_the_limit_is_busy_and_the_draft_is_kept(
    app: Flask,
    citizen_link: str,
    db: Session,
) -> None:
    citizen = app.test_client()
    base = f"/f/{citizen_link}"
    citizen.get(base)
    household = pages(1)
    fill(citizen, base, household, upto="family")
    with limit_reached(app, "form"):
        busy = citizen.post(f"{base}/housing", data=household["housing"])
        page = busy.get_data(as_text=True)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
        assert "الإجابات التي أرسلتها من قبل محفوظة" in page  # the answers sent are kept
        assert citizen.get(base).status_code == 503  # GETs too: nothing is read meanwhile
    db.expire_all()
    link = db.scalars(select(Link)).one()
    assert set(link.pages()) == {"personal", "family"}  # kept, and nothing half-saved
    resumed = citizen.get(base).get_data(as_text=True)
    assert 'name="residence_locality"' in resumed  # page 3, where the family stopped
    done = fill(citizen, base, {"housing": household["housing"], "finances": household["finances"]})
    assert done.status_code == 200


def test_consoles_past_their_limit_say_busy_on_a_plain_page(
    app: Flask,
    client: FlaskClient,
    focal: Any,
) -> None:
    sign_in(client, "focal")
    assert client.get("/console").status_code == 200
    with limit_reached(app, "console"):
        for path in ("/console", "/console/applications", "/hotline", "/sign-in"):
            busy = client.get(path)
            assert busy.status_code == 503, path
            assert busy.headers["Retry-After"] == "30" and busy.mimetype == "text/html"
            page = busy.get_data(as_text=True)
            assert "<header>" not in page and "الخدمة مشغولة" in page  # plain: no layout
        assert client.get("/healthz").status_code == 200  # operators still see inside
    assert client.get("/console").status_code == 200


# -- the store cannot answer ---------------------------------------------------------------


@pytest.fixture
def dead_store_app() -> Iterator[Flask]:
    """The service with its database gone (connections refused), on Twilio's settings."""
    engine = make_engine(DEAD_STORE, connect_args={"connect_timeout": 2})
    app = create_app(twilio_settings(engine), session_factory=sessionmaker(bind=engine))
    app.config["TESTING"] = True
    yield app
    engine.dispose()


def test_a_store_outage_answers_busy_on_every_entry_never_500(
    dead_store_app: Flask, app: Flask, client: FlaskClient, db: Session
) -> None:
    phone = Phone(dead_store_app.test_client())
    assert_busy_twiml(phone.dial(), lang=None)
    sorry = phone.press("1")  # the call-back cannot be written either: an apology, not silence
    assert sorry.find("./Hangup") is not None
    form = dead_store_app.test_client().get("/f/" + "t" * 43)
    assert form.status_code == 503 and form.headers["Retry-After"] == "30"
    # A signed-in member of staff (the same secret signs the cookie) finds the console busy.
    from core.roles import Role
    from tests.support.factories import HOME, load_sample_geography, make_user

    load_sample_geography(db)
    make_user(db, Role.FOCAL_POINT, HOME, username="staff")
    db.commit()
    sign_in(client, "staff")
    staff = dead_store_app.test_client()
    staff.environ_base["wsgi.url_scheme"] = "https"
    cookie = client.get_cookie("intake_session")
    assert cookie is not None
    staff.set_cookie("intake_session", cookie.value, domain=cookie.domain)
    console = staff.get("/console")
    assert console.status_code == 503 and console.headers["Retry-After"] == "30"
    health = dead_store_app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["store"] == "down"


def test_a_pool_with_no_free_connection_answers_busy(postgres_url: str) -> None:
    """On PostgreSQL: SQLite's engine has no pool to run dry."""
    tight = make_engine(postgres_url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    try:
        held = tight.connect()
    except Exception:
        unavailable("PostgreSQL")
    try:
        settings = twilio_settings(tight)
        app = create_app(settings, session_factory=sessionmaker(bind=tight))
        app.config["TESTING"] = True
        assert_busy_twiml(Phone(app.test_client()).dial(), lang=None)  # QueuePool timed out
        form = app.test_client().get("/f/" + "t" * 43)
        assert form.status_code == 503 and "Retry-After" in form.headers
    finally:
        held.close()
        tight.dispose()


# -- what an operator watches -----------------------------------------------------------------


def test_healthz_reports_each_queue_depth_and_oldest_age(
    client: FlaskClient, db: Session, clock: Any
) -> None:
    empty = client.get("/healthz").get_json()
    assert empty["queues"]["outbox"] == {"depth": 0, "oldest_age_seconds": None}
    now = utcnow()
    for minutes in (5, 1):
        db.add(
            Message(
                direction=Direction.OUTBOUND,
                phone="+9613123456",
                body="owed",
                status=MessageStatus.PENDING,
                created_at=now - timedelta(minutes=minutes),
            )
        )
    keep(db, RawSms("SM" + "1" * 32, "+9613123456", "+9611766", "LINK", now), "fallback")
    db.commit()
    clock.freeze(now)
    queues = client.get("/healthz").get_json()["queues"]
    assert queues["outbox"] == {"depth": 2, "oldest_age_seconds": 300.0}
    assert queues["inbound:store"] == {"depth": 1, "oldest_age_seconds": 0.0}


def test_healthz_reports_the_redis_queues_and_the_sms_stream(
    engine: Engine, session_factory: sessionmaker[Session], redis_url: str
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(settings_for(url, redis_url=redis_url), session_factory=session_factory)
    redis = Redis.from_url(redis_url)
    from rq import Queue

    queue = Queue("default", connection=redis)
    job = queue.enqueue("core.housekeeping.purge_throttle_hits")
    try:
        queues = app.test_client().get("/healthz").get_json()["queues"]
        assert queues["rq:default"]["depth"] >= 1
        assert queues["rq:default"]["oldest_age_seconds"] >= 0
        assert {"rq:sms", "rq:scoring", "inbound:stream"} <= set(queues)
    finally:
        job.delete()


def test_metrics_is_prometheus_text_with_depths_and_what_was_shed(
    app: Flask, client: FlaskClient
) -> None:
    before = shed_count(client, "console")
    with limit_reached(app, "console"):
        assert client.get("/console").status_code == 503
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert shed_count(client, "console") == before + 1
    depth = {s.labels["queue"]: s.value for s in families["intake_queue_depth"].samples}
    assert depth["outbox"] == 0 and "inbound:store" in depth
    assert "intake_queue_lag_seconds" in families and "intake_accepted" in families


def test_metrics_asks_for_the_bearer_token_when_one_is_set(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, metrics_token="s3cret-token")
    client = create_app(settings, session_factory=session_factory).test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert right.status_code == 200


# -- requests that waited too long in front of the workers -----------------------------------


def stamped(seconds_ago: float) -> dict[str, str]:
    """The load balancer's stamp (nginx's `t=${msec}`) of a request received that long ago."""
    return {"X-Request-Start": f"t={utcnow().timestamp() - seconds_ago:.3f}"}


def test_a_form_page_that_waited_too_long_in_the_queue_is_busy_and_saves_nothing(
    app: Flask,
    citizen_link: str,
    db: Session,
) -> None:
    citizen = app.test_client()
    base = f"/f/{citizen_link}"
    household = pages(1)
    fill(citizen, base, household, upto="personal")

    late = citizen.post(f"{base}/family", data=household["family"], headers=stamped(30))

    assert late.status_code == 503 and late.headers["Retry-After"] == "30"
    db.expire_all()
    assert set(db.scalars(select(Link)).one().pages()) == {"personal"}
    fresh = citizen.post(f"{base}/family", data=household["family"], headers=stamped(0.2))
    assert fresh.status_code == 302  # saved, on to the next page
    # Heroku's stamp (milliseconds) and an unreadable one: read, and ignored.
    heroku = {"X-Request-Start": str(int((utcnow().timestamp() - 30) * 1000))}
    assert citizen.get(base, headers=heroku).status_code == 503
    assert citizen.get(base, headers={"X-Request-Start": "soon"}).status_code == 200


def test_an_sms_that_waited_too_long_is_sent_to_the_fallback_url_at_once(
    engine: Engine, session_factory: sessionmaker[Session], redis_url: str, db: Session
) -> None:
    from sms.buffer import STREAM
    from tests.support.citizen_sms import inbound_form
    from tests.support.twilio_requests import signature

    redis = Redis.from_url(redis_url)
    redis.delete(STREAM)
    app = create_app(twilio_settings(engine, redis_url=redis_url), session_factory=session_factory)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    form = inbound_form("HELP")
    signed = {"X-Twilio-Signature": signature(f"{PUBLIC}/sms/inbound", form)}
    try:
        late = client.post("/sms/inbound", data=form, headers={**signed, **stamped(20)})
        assert late.status_code == 503 and late.headers["Retry-After"].isdigit()
        assert redis.xlen(STREAM) == 0  # nothing buffered: Twilio's fallback keeps it
        on_time = client.post("/sms/inbound", data=form, headers={**signed, **stamped(1)})
        assert on_time.status_code == 200 and redis.xlen(STREAM) == 1
    finally:
        redis.delete(STREAM)


def test_a_voice_step_that_waited_too_long_hears_the_lines_are_busy(
    ivr_app_without_fake_twilio: Flask, db: Session
) -> None:
    phone = Phone(ivr_app_without_fake_twilio.test_client())
    phone.client.environ_base["HTTP_X_REQUEST_START"] = f"t={utcnow().timestamp() - 30:.3f}"

    assert_busy_twiml(phone.dial(), lang=None)  # valid TwiML, in the three languages

    del phone.client.environ_base["HTTP_X_REQUEST_START"]
    phone.press("1")  # the key is never shed: one call-back
    assert callbacks(db) == 1
    menu = phone.dial()  # on time: the menu
    assert menu.find("./Gather") is not None and "/ivr/language" in action_of(menu)
