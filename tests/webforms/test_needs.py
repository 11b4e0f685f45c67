"""Weekly needs: the week and its deadline in Beirut time, filing and filing again over HTTP,
what each reader sees, and the reminder job on a controlled clock: one SMS per focal point of a
municipality that has not filed, once a week, sent through the real `twilio` library to the
fake Twilio server, and once only when two copies of the job race on PostgreSQL."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.audit import AuditEvent
from core.clock import BEIRUT
from core.db import make_sessionmaker, utcnow
from core.messages import Message, MessageStatus
from core.needs import (
    MAX_COUNT,
    MAX_NEEDS_TEXT,
    REMINDER_PURPOSE,
    BadWeek,
    NeedsFigures,
    NeedsReminder,
    NeedsReport,
    chosen_week,
    deadline,
    file_needs,
    remind,
    week_of,
)
from core.opt_outs import start, stop
from core.roles import Role
from core.sayings import NeedsOverdue
from core.segments import segments
from core.users import StaffUser
from tests.plugins.cli import assert_refused
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    NORTH,
    SAME_DISTRICT,
    SAME_GOVERNORATE,
    load_sample_geography,
)
from tests.support.quick_accounts import account
from tests.support.staff_web import csrf, signed_in
from texts.sms import compose

WEEK = date(2020, 4, 13)  # a Monday, in Lebanon's summer time (UTC+3)
BEFORE = datetime(2020, 4, 15, 12, 0, tzinfo=BEIRUT)  # the deadline itself: still on time
AFTER = datetime(2020, 4, 15, 12, 1, tzinfo=BEIRUT)
NEXT_WEEK = WEEK + timedelta(days=7)
FIGURES = NeedsFigures(120, 40, "Thermometers and gloves", "")
ENGLISH = (
    "1766: your municipality's weekly needs report (week of 13/4) is overdue. "
    "Please file it in the console."
)


# --- the week and its deadline ----------------------------------------------------------------


def test_weeks_run_monday_to_sunday_in_beirut_time() -> None:
    sunday_night = datetime(2020, 4, 19, 23, 30, tzinfo=BEIRUT)  # 20:30 UTC
    monday_early = datetime(2020, 4, 20, 0, 30, tzinfo=BEIRUT)  # still Sunday in UTC
    assert week_of(sunday_night) == WEEK
    assert week_of(monday_early.astimezone(UTC)) == NEXT_WEEK
    assert week_of(datetime(2020, 4, 13, 0, 0, tzinfo=BEIRUT)) == WEEK


def test_the_deadline_is_wednesday_noon_in_beirut_summer_and_winter() -> None:
    assert deadline(WEEK) == datetime(2020, 4, 15, 9, 0, tzinfo=UTC)  # UTC+3 in April
    assert deadline(date(2020, 1, 13)) == datetime(2020, 1, 15, 10, 0, tzinfo=UTC)  # UTC+2
    assert deadline(WEEK).tzinfo is not None


def test_a_week_is_chosen_by_any_of_its_days() -> None:
    assert chosen_week("2020-04-16", AFTER) == WEEK
    assert chosen_week("٢٠٢٠-٠٤-١٩", AFTER) == WEEK
    for typed, problem in (("2020-02-30", "invalid"), ("last week", "invalid"), ("", "invalid")):
        with pytest.raises(BadWeek) as refused:
            chosen_week(typed, AFTER)
        assert refused.value.problem == problem
    with pytest.raises(BadWeek, match="future"):
        chosen_week("2020-04-20", AFTER)
    for typed in ("0001-01-01", "2019-12-29"):  # the first would overflow the calendar
        with pytest.raises(BadWeek, match="early"):
            chosen_week(typed, AFTER)
    assert chosen_week("2019-12-31", AFTER) == date(2019, 12, 30)  # the week of 1 January 2020


# --- the accounts of the story ----------------------------------------------------------------


@dataclass
class World:
    """Focal points of six municipalities and a mukhtar, with what each one should get."""

    texted: dict[str, StaffUser]  # reminded when their municipality has not filed
    silent: dict[str, StaffUser]  # never texted, whatever happens


def focal(db: Session, username: str, area: str, phone: str | None, language: str) -> StaffUser:
    return account(db, username, Role.FOCAL_POINT, area, phone, language)


def build_world(db: Session) -> World:
    load_sample_geography(db)
    texted = {
        "home-en": focal(db, "home-en", HOME, "+9613100001", "en"),
        "home-ar": focal(db, "home-ar", HOME, "+9613100002", "ar"),
        "north-fr": focal(db, "north-fr", NORTH, "+9613100003", "fr"),
        "next-door": focal(db, "next-door", SAME_DISTRICT, "+9613100004", "ar"),
    }
    silent = {
        "no-phone": focal(db, "no-phone", SAME_GOVERNORATE, None, "ar"),
        "disabled": focal(db, "disabled", ELSEWHERE, "+9613100005", "ar"),
        "stopped": focal(db, "stopped", AKKAR, "+9613100006", "ar"),
        "mukhtar": account(db, "mukhtar", Role.MUKHTAR, HOME, "+9613100007"),
    }
    silent["disabled"].is_active = False
    stop(db, "+9613100006")
    db.commit()
    return World(texted, silent)


@pytest.fixture
def focal_points(db: Session) -> World:
    return build_world(db)


def reminders(db: Session) -> list[Message]:
    db.expire_all()
    stmt = select(Message).where(Message.purpose == REMINDER_PURPOSE).order_by(Message.id)
    return list(db.scalars(stmt))


def count(db: Session, model: type[object]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- the reminder job, on a controlled clock ----------------------------------------------------


def test_no_one_is_reminded_until_the_deadline_has_passed(
    app: Flask, db: Session, focal_points: World
) -> None:
    with app.app_context():
        assert remind(db, datetime(2020, 4, 13, 8, 0, tzinfo=BEIRUT), compose) == []
        assert remind(db, BEFORE, compose) == []
    assert reminders(db) == [] and count(db, NeedsReminder) == 0


def test_after_the_deadline_each_focal_point_of_a_silent_municipality_gets_one_sms(
    app: Flask, db: Session, focal_points: World
) -> None:
    file_needs(
        db, focal_points.texted["next-door"], FIGURES, BEFORE
    )  # Furn Ech-Chebbak filed in time
    with app.app_context():
        owed = remind(db, AFTER, compose)
    db.commit()

    sent = reminders(db)
    assert [m.id for m in sent] == owed
    by_phone = {m.phone: m for m in sent}
    texted = focal_points.texted
    assert set(by_phone) == {texted[n].phone for n in ("home-en", "home-ar", "north-fr")}
    assert by_phone["+9613100001"].body == ENGLISH
    assert by_phone["+9613100002"].body.startswith("1766: ")
    assert by_phone["+9613100002"].language == "ar"
    assert by_phone["+9613100003"].language == "fr"
    assert all(m.segments == 1 and m.status == MessageStatus.PENDING for m in sent)
    assert by_phone["+9613100003"].locality_code == NORTH  # the SMS log's scope is the town's
    assert count(db, NeedsReminder) == 3
    assert len(events(db, "needs.reminder_owed")) == 3


def test_running_again_the_same_week_sends_nothing_more_and_next_week_reminds_again(
    app: Flask, db: Session, focal_points: World
) -> None:
    with app.app_context():
        first = remind(db, AFTER, compose)
        db.commit()
        again = remind(db, AFTER + timedelta(days=3), compose)  # Saturday
        db.commit()
        # Next week Chiyah files in time; the others do not.
        file_needs(db, focal_points.texted["home-en"], FIGURES, BEFORE + timedelta(days=7))
        next_week = remind(db, AFTER + timedelta(days=7), compose)
        db.commit()

    assert (len(first), again, len(next_week)) == (4, [], 2)
    second_week = reminders(db)[4:]
    assert sorted(m.phone for m in second_week) == ["+9613100003", "+9613100004"]
    assert all("20/4" in m.body for m in second_week)  # Batroun and Furn Ech-Chebbak, again


def test_a_focal_point_who_sent_stop_is_not_texted_until_start(
    app: Flask, db: Session, focal_points: World
) -> None:
    with app.app_context():
        remind(db, AFTER, compose)
        assert "+9613100006" not in {m.phone for m in reminders(db)}
        start(db, "+9613100006")
        later = remind(db, AFTER + timedelta(hours=1), compose)
    assert [db.get_one(Message, i).phone for i in later] == ["+9613100006"]


def test_the_reminders_are_short_in_every_language(app: Flask) -> None:
    with app.app_context():
        for language in ("ar", "en", "fr"):
            body = compose(NeedsOverdue(date(2020, 12, 28)), language)  # the longest week: 28/12
            assert segments(body)[1] == 1, (language, body)


# --- delivered through the real twilio library, by the command -----------------------------------


def test_the_command_delivers_each_reminder_once_through_twilio(
    sms_app: Flask,
    db: Session,
    focal_points: World,
    fake_twilio: FakeTwilio,
) -> None:
    """`sms_app`: the service on Twilio, whose REST calls reach the fake Twilio (jobs inline)."""
    runner = sms_app.test_cli_runner()
    early = runner.invoke(args=["needs", "remind", "--now", "2020-04-15T11:00"])
    assert early.exit_code == 0, early.output
    assert "reminders owed 0" in early.output and fake_twilio.messages == []

    result = runner.invoke(args=["needs", "remind", "--now", "2020-04-15T12:30"])
    assert result.exit_code == 0, result.output
    assert "week of 2020-04-13 (due 2020-04-15 12:00 Beirut): reminders owed 4" in result.output
    delivered = sorted((m["to"], m["body"]) for m in fake_twilio.messages)
    assert [to for to, _body in delivered] == sorted(
        u.phone or "" for u in focal_points.texted.values()
    )
    assert ("+9613100001", ENGLISH) in delivered
    assert {m.status for m in reminders(db)} == {MessageStatus.QUEUED}

    again = runner.invoke(args=["needs", "remind", "--now", "2020-04-18T09:00+03:00"])
    assert "reminders owed 0" in again.output
    assert len(fake_twilio.messages) == 4  # nothing sent twice


def test_the_command_refuses_bad_options(runner: FlaskCliRunner, db: Session) -> None:
    assert_refused(runner.invoke(args=["needs", "remind", "--now", "Wednesday"]), "ISO date-time")
    assert_refused(runner.invoke(args=["needs", "remind", "--every", "0"]), "--every")
    both = runner.invoke(args=["needs", "remind", "--every", "60", "--now", "2020-04-15T12:30"])
    assert_refused(both, "cannot be used with --every")
    assert count(db, NeedsReminder) == 0


# --- two copies of the job at once, on PostgreSQL ------------------------------------------------


def test_two_copies_of_the_job_at_once_text_each_focal_point_once(
    race_engine: Engine,
) -> None:
    factory = make_sessionmaker(race_engine)
    with factory() as setup:
        expected = len(build_world(setup).texted)
    sessions = [factory(), factory()]
    together = threading.Barrier(2)
    owed: list[list[int]] = [[], []]
    failures: list[BaseException] = []

    def run(n: int) -> None:
        together.wait()
        try:
            owed[n] = remind(sessions[n], AFTER, lambda said, language: f"{said} {language}")
            sessions[n].commit()
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for session in sessions:
        session.close()
    assert failures == []
    assert len(owed[0]) + len(owed[1]) == expected
    with factory() as check:
        phones = list(
            check.scalars(select(Message.phone).where(Message.purpose == REMINDER_PURPOSE))
        )
        assert sorted(phones) == sorted(set(phones)) and len(phones) == expected
        assert count(check, NeedsReminder) == expected


# --- filing over HTTP ----------------------------------------------------------------------------


def file(client: FlaskClient, **fields: str) -> TestResponse:
    token = csrf(client, "/console/needs")
    return client.post("/console/needs", data={**fields, "csrf_token": token})


def this_weeks(db: Session, locality: str) -> NeedsReport | None:
    db.expire_all()
    stmt = select(NeedsReport).where(
        NeedsReport.locality_code == locality, NeedsReport.week_start == week_of(utcnow())
    )
    return db.scalar(stmt)


def test_a_focal_point_files_this_weeks_report(
    client: FlaskClient, db: Session, focal_points: World
) -> None:
    filed = file(signed_in(client, "home-ar"), food_parcels="١٢٠", hygiene_kits="1,500")
    assert filed.status_code == 302
    page = client.get(filed.headers["Location"]).get_data(as_text=True)
    assert "This week's report is filed." in page
    assert 'data-locality="21111"' in page and 'id="total-kits">1500<' in page
    report = this_weeks(db, HOME)
    assert report is not None
    assert (report.food_parcels, report.hygiene_kits, report.quarantine_needs) == (120, 1500, "")
    assert report.district_code == "LB32"
    [event] = events(db, "needs.filed")
    assert (event.actor, event.object_id) == ("home-ar", str(report.id))


def test_filing_again_replaces_the_figures(
    client: FlaskClient, db: Session, focal_points: World
) -> None:
    file(signed_in(client, "home-ar"), food_parcels="100", quarantine_needs="Masks")
    first = this_weeks(db, HOME)
    assert first is not None
    filed_at = first.filed_at
    file(signed_in(client, "home-en"), food_parcels="250", quarantine_needs="Masks\r\nBeds")

    report = this_weeks(db, HOME)
    assert report is not None and count(db, NeedsReport) == 1
    assert (report.food_parcels, report.quarantine_needs) == (250, "Masks\nBeds")
    assert report.filed_at == filed_at and report.updated_at > filed_at
    assert report.filed_by_id == focal_points.texted["home-en"].id
    assert [e.actor for e in events(db, "needs.refiled")] == ["home-en"]
    form = client.get("/console/needs").get_data(as_text=True)
    assert 'id="food_parcels" name="food_parcels" value="250"' in form  # the form starts from it


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"food_parcels": "-1"}, "food_parcels", f"Enter a number from 0 to {MAX_COUNT}."),
        ({"food_parcels": str(MAX_COUNT + 1)}, "food_parcels", "Enter a number from 0"),
        ({"hygiene_kits": "9" * 5000}, "hygiene_kits", "Enter a number from 0"),
        ({"hygiene_kits": "twelve"}, "hygiene_kits", "Enter a whole number, in digits."),
        ({"quarantine_needs": "<b>beds</b>"}, "quarantine_needs", "special characters"),
        ({"other_needs": "soap\x00"}, "other_needs", "special characters"),
        (
            {"other_needs": "z" * (MAX_NEEDS_TEXT + 1)},
            "other_needs",
            f"Use at most {MAX_NEEDS_TEXT} characters.",
        ),
    ],
)
def test_refused_figures_write_nothing_and_keep_the_report_filed_before(
    client: FlaskClient,
    db: Session,
    focal_points: World,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    file(signed_in(client, "home-ar"), food_parcels="100")
    refused = file(client, **{"food_parcels": "300", **fields})

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Nothing was filed" in page
    error = re.search(rf'<p class="error" id="{field}-e">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert "<b>beds" not in page  # what was typed comes back escaped
    report = this_weeks(db, HOME)
    assert report is not None and report.food_parcels == 100
    assert events(db, "needs.refiled") == []


def test_only_focal_points_file(client: FlaskClient, db: Session, focal_points: World) -> None:
    account(db, "qaimaqam", Role.QAIMAQAM, "LB32")
    db.commit()
    assert file(signed_in(client, "qaimaqam"), food_parcels="5").status_code == 403
    assert 'id="needs-form"' not in client.get("/console/needs").get_data(as_text=True)
    assert signed_in(client, "mukhtar").get("/console/needs").status_code == 403  # no reports
    assert count(db, NeedsReport) == 0


def test_each_reader_sees_its_area_and_who_has_not_filed(
    client: FlaskClient, db: Session, focal_points: World
) -> None:
    account(db, "qaimaqam", Role.QAIMAQAM, "LB32")
    account(db, "qaimaqam-akkar", Role.QAIMAQAM, "LB51")
    account(db, "governor", Role.GOVERNOR, "LB3")
    db.commit()
    file(signed_in(client, "home-ar"), food_parcels="120", hygiene_kits="30")

    baabda = signed_in(client, "qaimaqam").get("/console/needs").get_data(as_text=True)
    assert re.findall(r'class="needs-row" data-locality="(\d+)"', baabda) == [HOME]
    assert 'id="total-food">120<' in baabda
    assert re.findall(r'class="missing" data-locality="(\d+)"', baabda) == [SAME_DISTRICT]

    mount_lebanon = signed_in(client, "governor").get("/console/needs").get_data(as_text=True)
    # Bourj Hammoud's only focal point has no phone, but it owes the report all the same.
    missing = re.findall(r'class="missing" data-locality="(\d+)"', mount_lebanon)
    assert missing == [SAME_DISTRICT, SAME_GOVERNORATE]

    akkar = signed_in(client, "qaimaqam-akkar").get("/console/needs").get_data(as_text=True)
    assert 'class="needs-row"' not in akkar and 'id="no-reports"' in akkar
    assert re.findall(r'class="missing" data-locality="(\d+)"', akkar) == [AKKAR]

    next_door = signed_in(client, "next-door").get("/console/needs").get_data(as_text=True)
    assert 'class="needs-row"' not in next_door and 'id="not-filed"' not in next_door


def test_a_past_week_shows_late_and_on_time_reports(
    client: FlaskClient, db: Session, focal_points: World
) -> None:
    file_needs(db, focal_points.texted["home-ar"], FIGURES, BEFORE)
    file_needs(db, focal_points.texted["next-door"], NeedsFigures(5, 0, "", "Blankets"), AFTER)
    account(db, "qaimaqam", Role.QAIMAQAM, "LB32")
    db.commit()

    page = (
        signed_in(client, "qaimaqam").get("/console/needs?week=2020-04-17").get_data(as_text=True)
    )
    assert 'data-week="2020-04-13"' in page
    rows = dict(re.findall(r'data-locality="(\d+)" data-late="(yes|no)"', page))
    assert rows == {HOME: "no", SAME_DISTRICT: "yes"}
    assert 'id="total-food">125<' in page and "Late: 1" in page
    assert "Blankets" in page


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2020-02-30", "written YYYY-MM-DD"),
        ("2999-01-01", "That week has not begun yet."),
        ("0001-01-01", "Weekly needs begin in 2020."),
    ],
)
def test_a_week_that_cannot_be_shown_is_refused_clearly(
    client: FlaskClient, db: Session, focal_points: World, week: str, message: str
) -> None:
    response = signed_in(client, "home-ar").get("/console/needs", query_string={"week": week})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert f'data-week="{week_of(utcnow()).isoformat()}"' in page  # this week instead
