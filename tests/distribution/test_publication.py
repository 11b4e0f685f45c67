"""Publishing a list hands each selected family its voucher: the code in its SMS is the voucher
the army's export shows later, issued once even when a publication crashed half-way."""

from __future__ import annotations

import csv
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.applications import Application
from core.audit import AuditEvent
from core.messages import Message
from core.references import grouped
from core.roles import Role
from core.sayings import ListResult
from core.segments import segments
from distribution.handovers import Voucher
from distribution.publication import publish_batch
from distribution.vouchers import verify
from scoring.lists import BeneficiaryList
from tests.plugins.handover_world import approve_for_the_army
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import HOME, load_sample_geography, make_user
from tests.support.list_factories import families, make_list, open_round
from tests.support.staff_web import csrf, sign_in
from texts.sms import compose

PUBLIC = SERVICE_KEY.public_key()


class Round:
    def __init__(self, db: Session) -> None:
        load_sample_geography(db)
        open_round(db)
        self.selected = families(db, 3)  # in HOME
        self.left_out = families(db, 2, start=5)
        self.list: BeneficiaryList = make_list(
            db, self.selected, [self.left_out[0]], [self.left_out[1]], published=False
        )
        make_user(db, Role.ARMY, "LB3", username="army")
        db.commit()


@pytest.fixture
def unpublished(db: Session) -> Round:
    return Round(db)


def sms_of(db: Session, application: Application) -> list[Message]:
    db.expire_all()
    stmt = select(Message).where(
        Message.purpose == "list_result", Message.phone == application.phone
    )
    return list(db.scalars(stmt))


def vouchers(db: Session) -> dict[int, Voucher]:
    db.expire_all()
    return {v.application_id: v for v in db.scalars(select(Voucher))}


def publish(runner: FlaskCliRunner, list_id: int) -> None:
    result = runner.invoke(args=["lists", "publish", str(list_id)])
    assert result.exit_code == 0, result.output


def army_export(client: FlaskClient, list_id: int) -> dict[str, str]:
    """The army's CSV of HOME, as the officer downloads it: reference -> voucher code."""
    sign_in(client, "army")
    path = f"/console/lists/{list_id}/{HOME}.csv"
    response = client.post(path, data={"csrf_token": csrf(client, "/console/lists")})
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    return {row["reference"]: row["voucher_code"] for row in rows}


def test_the_code_in_the_sms_is_the_voucher_the_army_exports(
    db: Session, runner: FlaskCliRunner, client: FlaskClient, unpublished: Round
) -> None:
    publish(runner, unpublished.list.id)

    issued = vouchers(db)
    assert set(issued) == {a.id for a in unpublished.selected}  # not-selected: no voucher
    db.expire_all()
    approve_for_the_army(db, unpublished.list)  # the committee's two members, once published
    db.commit()
    exported = army_export(client, unpublished.list.id)
    assert len(exported) == 3
    for application in unpublished.selected:
        voucher = issued[application.id]
        (sms,) = sms_of(db, application)
        assert grouped(voucher.code) in sms.body and grouped(application.reference) in sms.body
        assert exported[application.reference] == voucher.code  # the same code, not a new one
        claim = verify(voucher.token, PUBLIC)
        assert (claim.code, claim.reference) == (voucher.code, application.reference)
    assert vouchers(db) == issued  # the export issued nothing more
    for application in unpublished.left_out:
        (sms,) = sms_of(db, application)
        assert not any(v.code in sms.body for v in issued.values())
    (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "vouchers.issued"))
    assert json.loads(event.details) == {"issued": 3, "when": "publication"}


def test_a_publication_that_crashed_half_way_continues_without_a_second_voucher_or_sms(
    app: Flask, db: Session, runner: FlaskCliRunner, unpublished: Round
) -> None:
    with app.app_context():
        first = publish_batch(db, unpublished.list, compose, SERVICE_KEY, size=2)
        db.commit()
        assert first.remaining and len(first.message_ids) == 2
        told_first = {a.id: v.code for a, v in _pairs(db, unpublished.selected[:2])}

        def crash(_said: object, _language: str) -> str:
            raise RuntimeError("worker killed")  # after the third family's voucher was made

        with pytest.raises(RuntimeError):
            publish_batch(db, unpublished.list, crash, SERVICE_KEY, size=2)
        db.rollback()

    publish(runner, unpublished.list.id)  # the operator runs it again

    issued = vouchers(db)
    assert len(issued) == 3
    assert {a.id: issued[a.id].code for a in unpublished.selected[:2]} == told_first
    for application in [*unpublished.selected, *unpublished.left_out]:
        assert len(sms_of(db, application)) == 1  # nobody told twice
    for application in unpublished.selected:
        (sms,) = sms_of(db, application)
        assert grouped(issued[application.id].code) in sms.body


def _pairs(db: Session, applications: list[Application]) -> list[tuple[Application, Voucher]]:
    found = vouchers(db)
    return [(a, found[a.id]) for a in applications]


@pytest.mark.parametrize(
    ("language", "encoding", "most"), [("ar", "UCS-2", 2), ("en", "GSM-7", 2), ("fr", "GSM-7", 2)]
)
def test_the_selected_sms_with_its_code_fits_two_segments(
    app: Flask, language: str, encoding: str, most: int
) -> None:
    said = ListResult("4829301749", True, voucher_code="5930184726")
    with app.app_context():
        text = compose(said, language)
    assert "593 018 4726" in text and "482 930 1749" in text
    assert segments(text) == (encoding, most)
