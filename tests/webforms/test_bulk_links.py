"""Links in bulk (`/console/links/bulk`): every row checked before anything is sent, the limits
of what is read, the confirmation sending each number one link through the real `twilio`
library to the fake Twilio (jobs inline), the progress page and the result CSV, and that a
batch confirmed twice, or sent by a job run twice or resumed after a crash, never gives a
number two links; only its municipality sees it."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from core.audit import AuditEvent
from core.db import make_sessionmaker, transaction, utcnow
from core.link_batch_checks import store_checked
from core.link_batch_sending import Sending, send_chunk
from core.link_batches import BatchRow, BatchState, LinkBatch, Outcome, batches_visible_to
from core.link_batches import confirm as confirm_batch
from core.links import Link
from core.messages import Message
from core.notifications import Sms, owe_text
from core.opt_outs import stop
from core.programme import set_window
from core.roles import Permission, Role, can
from core.sms_policy import Occasion
from core.users import StaffUser
from sms.link_batch_job import send_link_batch
from tests.plugins.citizen_forms import send_link
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.factories import ELSEWHERE, load_sample_geography
from tests.support.quick_accounts import account
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, NO_AREA, PLACES
from tests.support.staff_web import client_for, csrf, signed_in
from texts.sms import compose

BULK = "/console/links/bulk"
READY = ["03 123 456", "+961 71 000 001", "0096176123456", "٨١١٢٣٤٥٦"]  # any Lebanese form
READY_E164 = ["+9613123456", "+96171000001", "+96176123456", "+96181123456"]


def check(
    client: FlaskClient, numbers: str = "", file: tuple[bytes, str] | None = None
) -> TestResponse:
    """Post the bulk form as a browser does (multipart), in English."""
    data: dict[str, object] = {"numbers": numbers, "language": "en"}
    data["csrf_token"] = csrf(client, BULK)
    if file is not None:
        data["file"] = FileStorage(io.BytesIO(file[0]), file[1], content_type="text/csv")
    # Encoded in memory: the test client spools a body over 500 KB to a file it never closes.
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(BULK, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def batch_id(response: TestResponse) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def confirm(client: FlaskClient, batch: int) -> TestResponse:
    token = csrf(client, f"{BULK}/{batch}")
    return client.post(f"{BULK}/{batch}/confirm", data={"csrf_token": token})


def outcomes(db: Session, batch: int) -> dict[str, str]:
    db.expire_all()
    rows = db.scalars(select(BatchRow).where(BatchRow.batch_id == batch).order_by(BatchRow.line))
    return {row.typed: row.outcome for row in rows}


def form_links(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Link)) or 0


@pytest.fixture
def focal_client(client: FlaskClient, focal: StaffUser) -> FlaskClient:
    return signed_in(client, "focal")


# --- the check, before anything is sent ----------------------------------------------------------


def test_every_row_is_checked_and_shown_before_anything_is_sent(
    focal_client: FlaskClient, db: Session
) -> None:
    assert send_link(focal_client, "70 999 999").status_code == 302  # linked today already
    stop(db, "+96170888888")
    for _ in range(3):  # three notices today: the daily cap
        owe_text(db, Sms("+96170777777", "x", "en", "status"), Occasion.NOTICE)
    db.commit()
    links_before = form_links(db)
    typed = [
        *READY,
        "hello",
        "01 234 567",
        "+33 6 12 34 56 78",
        "03123456",  # the first number again, in another form
        "70999999",
        "70 888 888",
        "70 777 777",
    ]
    batch = batch_id(check(focal_client, "\n".join(typed) + "\n\n"))

    assert outcomes(db, batch) == {
        **dict.fromkeys(READY, "ready"),
        "hello": "invalid",
        "01 234 567": "landline",
        "+33 6 12 34 56 78": "foreign",
        "03123456": "duplicate",
        "70999999": "today",
        "70 888 888": "stopped",
        "70 777 777": "daily_cap",
    }
    assert form_links(db) == links_before  # nothing issued, nothing owed
    page = focal_client.get(f"{BULK}/{batch}").get_data(as_text=True)
    assert "4 numbers will be sent a link when you confirm" in page
    assert 'data-state="checked"' in page and 'http-equiv="refresh"' not in page
    for label in ("Not a phone number", "A landline: no SMS", "Already earlier in the list"):
        assert label in page
    assert "Already sent a link today" in page and "Sent STOP: no SMS" in page
    assert page.count('class="problem-row"') == 7
    assert '<tr class="outcome-count" data-outcome="ready"><th>To send</th><td>4</td>' in page
    checked = db.scalars(select(AuditEvent).where(AuditEvent.action == "link_batch.checked")).one()
    assert json.loads(checked.details)["ready"] == 4 and "+961" not in checked.details


def test_a_csv_with_a_phone_column_and_a_header_is_read(
    focal_client: FlaskClient, db: Session
) -> None:
    sheet = "name,Phone\nAli,03 123 456\nMaya,71 000 001\n".encode("utf-8-sig")
    batch = batch_id(check(focal_client, file=(sheet, "families.csv")))
    assert outcomes(db, batch) == {"03 123 456": "ready", "71 000 001": "ready"}
    utf16 = "03 123 456\n".encode("utf-16")
    assert outcomes(db, batch_id(check(focal_client, file=(utf16, "n.txt")))) == {
        "03 123 456": "ready"
    }


# --- limits: nothing is written past them ----------------------------------------------------


def test_more_than_5000_rows_are_refused_and_nothing_is_written(
    focal_client: FlaskClient, db: Session
) -> None:
    numbers = "\n".join(f"71{n:06d}" for n in range(5001))
    refused = check(focal_client, numbers)
    assert refused.status_code == 400
    assert "more than 5,000 numbers" in refused.get_data(as_text=True)
    as_file = check(focal_client, file=(numbers.encode(), "big.csv"))
    assert "more than 5,000 numbers" in as_file.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(LinkBatch)) == 0


def test_a_file_over_1_mb_is_refused_with_a_clear_message(focal_client: FlaskClient) -> None:
    just_over = b"03123456\n" * 111_200  # 1,000,800 bytes: under the request's cap, over 1 MB
    refused = check(focal_client, file=(just_over, "numbers.csv"))
    assert refused.status_code == 400
    assert "The file is larger than 1 MB" in refused.get_data(as_text=True)


class CountingStream(io.RawIOBase):
    """A 10 MB request body that counts how much of it the service reads."""

    def __init__(self, size: int) -> None:
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"0" * n
        self.position += n
        self.read_bytes += n
        return n


def test_a_10_mb_upload_is_refused_before_it_is_read(
    focal_client: FlaskClient, db: Session
) -> None:
    body = CountingStream(10 * 1024 * 1024)
    refused = focal_client.post(
        BULK,
        input_stream=body,
        content_length=body.size,
        content_type="multipart/form-data; boundary=x",
    )
    assert refused.status_code == 413
    assert "The file is larger than 1 MB" in refused.get_data(as_text=True)
    assert body.read_bytes < 1024 * 1024
    assert db.scalar(select(func.count()).select_from(LinkBatch)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"03123456\n" + "ت".encode("cp1256") + b"\n", "it is not UTF-8 text"),
        (b"PK\x03\x04\x00\x00binary", "This is not a CSV or text file"),
        (b"\n\n  \n", "No number was found"),
    ],
    ids=["windows-arabic", "spreadsheet", "empty"],
)
def test_unreadable_files_are_refused_clearly(
    focal_client: FlaskClient, db: Session, data: bytes, message: str
) -> None:
    refused = check(focal_client, file=(data, "numbers.csv"))
    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(LinkBatch)) == 0


def test_nothing_is_checked_outside_the_rounds_window(client: FlaskClient, db: Session) -> None:
    load_sample_geography(db)
    account(db, "early", Role.FOCAL_POINT, "21111")
    db.commit()
    refused = check(signed_in(client, "early"), "03 123 456")
    assert refused.status_code == 400
    assert db.scalar(select(func.count()).select_from(LinkBatch)) == 0


# --- confirmation, sending, progress and the result ------------------------------------------


def test_confirming_sends_each_number_one_link_through_twilio_once(
    sms_client: FlaskClient, focal: StaffUser, db: Session, fake_twilio: FakeTwilio
) -> None:
    client = signed_in(sms_client, "focal")
    batch = batch_id(check(client, "\n".join([*READY, "03 123 456", "hello"])))
    assert fake_twilio.messages == []

    assert confirm(client, batch).status_code == 302
    assert sorted(m["to"] for m in fake_twilio.messages) == sorted(READY_E164)
    assert all("/f/" in m["body"] for m in fake_twilio.messages)
    page = client.get(f"{BULK}/{batch}").get_data(as_text=True)
    assert 'data-state="done"' in page and 'http-equiv="refresh"' not in page
    assert '<td id="count-issued">4</td>' in page and '<td id="count-sent">4</td>' in page
    assert '<td id="count-skipped">2</td>' in page and '<td id="count-failed">0</td>' in page

    assert confirm(client, batch).status_code == 302  # a double click
    with sms_client.application.app_context():
        send_link_batch(batch)  # the job run again
    assert len(fake_twilio.messages) == 4
    db.expire_all()
    per_phone = Counter(db.scalars(select(Link.phone)))
    assert sorted(per_phone) == sorted(READY_E164) and set(per_phone.values()) == {1}
    confirmed = db.scalars(select(AuditEvent).where(AuditEvent.action == "link_batch.confirmed"))
    assert len(list(confirmed)) == 1


def test_the_progress_page_refreshes_itself_while_sending(
    focal_client: FlaskClient, db: Session
) -> None:
    batch = batch_id(check(focal_client, "\n".join(READY)))
    row = db.get(LinkBatch, batch)
    assert row is not None
    row.state = BatchState.SENDING  # confirmed, the job not yet run (a worker is busy)
    db.commit()
    page = focal_client.get(f"{BULK}/{batch}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in page
    assert 'data-state="sending"' in page and '<td id="count-waiting">4</td>' in page
    assert "Resume sending" in page


def test_a_number_that_sends_stop_after_the_check_is_not_sent(
    focal_client: FlaskClient, db: Session
) -> None:
    batch = batch_id(check(focal_client, "\n".join(READY)))
    stop(db, READY_E164[1])
    db.commit()
    confirm(focal_client, batch)
    assert outcomes(db, batch)[READY[1]] == "stopped"
    assert Counter(outcomes(db, batch).values()) == {"issued": 3, "stopped": 1}


def test_the_result_csv_lists_every_row_with_formulas_defused(
    focal_client: FlaskClient, db: Session
) -> None:
    typed = ["03 123 456", '=HYPERLINK("http://x")', "+1 555", "@SUM(A1)", "-2"]
    batch = batch_id(check(focal_client, "\n".join(typed)))
    confirm(focal_client, batch)
    response = focal_client.get(f"{BULK}/{batch}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Row", "As typed", "Phone", "outcome", "Outcome"]
    assert rows[1] == ["1", "03 123 456", "'+9613123456", "sms_queued", "SMS sent"]
    assert [r[1] for r in rows[2:]] == ['\'=HYPERLINK("http://x")', "'+1 555", "'@SUM(A1)", "'-2"]
    assert {r[3] for r in rows[2:]} == {"invalid"}


# --- a crash, a job twice --------------------------------------------------------------------


def test_a_job_that_crashed_mid_batch_resumes_without_a_second_link(
    app: Flask, focal_client: FlaskClient, db: Session
) -> None:
    numbers = [f"71{n:06d}" for n in range(1, 8)]
    batch = batch_id(check(focal_client, "\n".join(numbers)))
    row = db.get(LinkBatch, batch)
    assert row is not None
    row.state = BatchState.SENDING
    db.commit()
    settings = app.config["INTAKE_SETTINGS"]
    sending = Sending(settings.public_base_url, settings.secret_key, 7, compose)
    assert send_chunk(db, batch, sending, size=3).rows == 3
    db.commit()  # the first chunk committed
    assert send_chunk(db, batch, sending, size=3).rows == 3
    db.rollback()  # the worker died before the second chunk's commit
    with app.app_context():
        send_link_batch(batch)
        send_link_batch(batch)
    db.expire_all()
    assert Counter(outcomes(db, batch).values()) == {"issued": 7}
    assert set(Counter(db.scalars(select(Link.phone))).values()) == {1}
    owed = db.scalars(select(Message.phone).where(Message.purpose == "form_link")).all()
    assert len(owed) == len(set(owed)) == 7


# --- who sees a batch -------------------------------------------------------------------------


def test_another_municipalitys_focal_point_cannot_see_or_confirm_a_batch(
    app: Flask, focal_client: FlaskClient, db: Session
) -> None:
    batch = batch_id(check(focal_client, "\n".join(READY)))
    account(db, "beirut", Role.FOCAL_POINT, ELSEWHERE)
    db.commit()
    stranger = client_for(app, "beirut")
    assert stranger.get(f"{BULK}/{batch}").status_code == 404
    assert stranger.get(f"{BULK}/{batch}.csv").status_code == 404
    token = csrf(stranger, BULK)
    assert stranger.post(f"{BULK}/{batch}/confirm", data={"csrf_token": token}).status_code == 404
    assert f"{BULK}/{batch}" not in stranger.get(BULK).get_data(as_text=True)
    assert outcomes(db, batch)[READY[0]] == Outcome.READY  # nothing was sent


@pytest.mark.parametrize(("role", "area_code", "seen"), MATRIX, ids=MATRIX_IDS)
def test_batches_are_seen_only_within_the_viewers_area(
    db: Session, role: Role, area_code: str, seen: set[str]
) -> None:
    load_sample_geography(db)
    sender = account(db, "sender", Role.FOCAL_POINT, "21111")
    for place in PLACES:
        batch = LinkBatch(sender_id=sender.id, language="ar", state=BatchState.DONE)
        if place != NO_AREA:
            owner = account(db, f"fp-{place}", Role.FOCAL_POINT, place)
            batch.place_in(owner.area)
        db.add(batch)
    db.flush()
    viewer = account(db, "viewer", role, area_code)
    found = {b.locality_code or NO_AREA for b in batches_visible_to(db, viewer, limit=50)}
    expected = seen if can(role, Permission.SEND_LINKS) else set()
    assert found == expected


def test_rows_not_reached_when_the_round_closes_are_not_sent(
    focal_client: FlaskClient, db: Session
) -> None:
    batch = batch_id(check(focal_client, "\n".join(READY)))
    set_window(db, utcnow() - timedelta(days=2), utcnow() - timedelta(seconds=1), "test")
    db.commit()
    confirm(focal_client, batch)
    assert set(outcomes(db, batch).values()) == {"window_closed"}
    assert form_links(db) == 0
    page = focal_client.get(f"{BULK}/{batch}").get_data(as_text=True)
    assert 'data-state="done"' in page and "Not sent: the round closed" in page
    assert '<td id="count-skipped">4</td>' in page


def test_two_copies_of_the_job_at_once_give_each_number_one_link(race_engine: Engine) -> None:
    """On PostgreSQL, with rows that commit: the batch's row lock makes the copies take turns."""
    factory = make_sessionmaker(race_engine)
    with transaction(factory) as session:
        load_sample_geography(session)
        set_window(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), "race")
        focal = account(session, "race-focal", Role.FOCAL_POINT, "21111")
        entries = [(n, f"71 3{n:05d}") for n in range(1, 41)]
        batch = store_checked(session, focal, "en", entries)
        assert confirm_batch(session, focal, batch)
        batch_id = batch.id
    sending = Sending("https://intake.test", "race-secret-" + "x" * 32, 7, compose)
    start = threading.Barrier(2)

    def job() -> None:
        start.wait()
        while True:
            with transaction(factory) as session:
                if not send_chunk(session, batch_id, sending, size=7).rows:
                    return

    copies = [threading.Thread(target=job) for _ in range(2)]
    for copy in copies:
        copy.start()
    for copy in copies:
        copy.join(timeout=60)
    with factory() as session:
        phones = session.scalars(select(Link.phone)).all()
        owed = session.scalar(select(func.count()).where(Message.purpose == "form_link"))
        state = session.scalar(select(LinkBatch.state).where(LinkBatch.id == batch_id))
    assert len(phones) == len(set(phones)) == owed == 40
    assert state == BatchState.DONE
