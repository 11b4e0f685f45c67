"""Beneficiary lists: built by rule from a few hundred families, and re-derivable by anyone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.applications import Application, ApplicationStatus
from core.audit import AuditEvent
from core.db import utcnow
from core.link_lifecycle import issue_link
from core.links import Channel
from core.messages import Message, MessageStatus
from core.opt_outs import stop
from core.programme import Programme, set_window
from core.references import grouped
from core.submissions import submit
from distribution.handovers import Voucher
from scoring import jobs
from scoring.lists import ABOVE_CUTOFF, NEEDS_REVIEW, BeneficiaryList, ListEntry, Outcome
from scoring.status import status_of
from tests.support.factories import load_sample_geography
from tests.support.households import varied
from texts.status import status_text

FAMILIES = 240


def _open_round(db: Session) -> None:
    load_sample_geography(db)
    now = utcnow()
    set_window(db, now - timedelta(days=1), now + timedelta(days=1), "test")


def _close_round(db: Session) -> None:
    programme = db.scalars(select(Programme)).one()
    programme.closes_at = utcnow() - timedelta(seconds=1)
    db.commit()


def _submit(db: Session, n: int, head_work: str | None = None) -> Application:
    data = varied(n)
    data["personal"]["phone"] = f"+9613{n:06d}"
    if head_work:
        data["personal"]["head_work"] = head_work
    link, _token = issue_link(db, None, None, ("ar", "en", "fr")[n % 3], Channel.HOTLINE)
    stored = submit(db, link, data, link.language)
    return db.get_one(Application, stored.id)


@pytest.fixture
def families(db: Session) -> list[Application]:
    """A closed round of FAMILIES applications, a few of them excluded by the circular."""
    _open_round(db)
    applications = [_submit(db, n) for n in range(1, FAMILIES + 1)]
    applications.append(_submit(db, FAMILIES + 1, head_work="public_sector"))
    applications.append(_submit(db, FAMILIES + 2, head_work="retired_pension"))
    db.commit()
    _close_round(db)
    return applications


def _build(runner: FlaskCliRunner, *extra: str) -> int:
    result = runner.invoke(args=["lists", "build", "--programme", "impact-2020", *extra])
    assert result.exit_code == 0, result.output
    assert "illustrative" in result.output  # the shipped weights never pass for real ones
    return int(result.output.split()[1].rstrip(":"))


def _entries(db: Session, list_id: int) -> list[ListEntry]:
    db.expire_all()
    stmt = select(ListEntry).where(ListEntry.list_id == list_id).order_by(ListEntry.id)
    return list(db.scalars(stmt))


def test_a_list_selects_the_poorest_within_budget_and_keeps_every_reason(
    runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    list_id = _build(runner, "--budget", "100")
    entries = _entries(db, list_id)
    assert len(entries) == len(families)  # every family has a line, excluded ones too
    outcomes = {e.application_id: e for e in entries}
    excluded = {e.reason for e in entries if e.outcome == Outcome.EXCLUDED}
    assert excluded == {"public_sector_head", "pension_head"}
    selected = [e for e in entries if e.outcome == Outcome.SELECTED]
    others = [e for e in entries if e.outcome == Outcome.NOT_SELECTED]
    assert len(selected) == 100
    assert {e.reason for e in others} == {ABOVE_CUTOFF}
    # Poorest first: nobody left out scored lower than anybody selected.
    assert max(e.score or 0 for e in selected) <= min(e.score or 0 for e in others)
    assert sorted(e.rank or 0 for e in selected) == list(range(1, 101))
    assert outcomes[families[-1].id].score is None  # an excluded family is not ranked


def test_the_same_inputs_make_the_same_list(
    runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    first, second = _build(runner, "--budget", "60"), _build(runner, "--budget", "60")
    one, two = db.get_one(BeneficiaryList, first), db.get_one(BeneficiaryList, second)
    assert (one.input_digest, one.result_digest) == (two.input_digest, two.result_digest)
    lines = [
        [(e.application_id, e.outcome, e.rank) for e in _entries(db, i)] for i in (first, second)
    ]
    assert lines[0] == lines[1]


def test_quotas_share_the_budget_among_governorates_by_their_eligible_families(
    runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    list_id = _build(runner, "--budget", "60", "--quota", "governorate")
    entries = [e for e in _entries(db, list_id) if e.outcome != Outcome.EXCLUDED]
    eligible: dict[str, int] = {}
    chosen: dict[str, int] = {}
    for entry in entries:
        eligible[entry.area] = eligible.get(entry.area, 0) + 1
        chosen[entry.area] = chosen.get(entry.area, 0) + (entry.outcome == Outcome.SELECTED)
    assert sum(chosen.values()) == 60 and len(eligible) > 2
    for area, count in eligible.items():
        assert abs(chosen[area] - 60 * count / len(entries)) < 1  # largest remainder


def test_verify_holds_then_fails_when_an_input_is_changed_behind_its_back(
    runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    for application in families[:40]:  # scored by the worker: the build reuses these scores
        jobs.score_application(application.id)
    list_id = _build(runner, "--budget", "100", "--quota", "district")
    verified = runner.invoke(args=["lists", "verify", str(list_id)])
    assert verified.exit_code == 0, verified.output
    assert "holds" in verified.output

    victim = families[7]
    pages = victim.pages()
    pages["finances"]["monthly_income"] = 999_999_999  # richer on paper, with no correction
    db.execute(
        update(Application)
        .where(Application.id == victim.id)
        .values(data=json.dumps(pages, ensure_ascii=False, sort_keys=True))
    )
    db.commit()
    failed = runner.invoke(args=["lists", "verify", str(list_id)])
    assert failed.exit_code == 1
    assert f"application {victim.id}: inputs stored as" in failed.output
    assert "does NOT hold" in failed.output
    events = db.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(list_id)))
    assert "list.verify_failed" in list(events)


def test_verify_names_a_family_dropped_or_a_line_rewritten(
    runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    list_id = _build(runner, "--budget", "50")
    entries = _entries(db, list_id)
    rejected = next(e for e in entries if e.outcome == Outcome.NOT_SELECTED)
    rejected.outcome = Outcome.SELECTED  # a favour slipped into the list
    db.delete(next(e for e in entries if e.outcome == Outcome.EXCLUDED))
    db.commit()
    failed = runner.invoke(args=["lists", "verify", str(list_id)])
    assert failed.exit_code == 1
    assert f"application {rejected.application_id}: outcome stored as selected" in failed.output
    assert "was submitted before the list but is not on it" in failed.output


def test_a_member_overlap_is_excluded_for_the_committee(
    runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    flagged = families[3]
    flagged.status = ApplicationStatus.NEEDS_REVIEW
    db.commit()
    list_id = _build(runner, "--budget", "10")
    entry = next(e for e in _entries(db, list_id) if e.application_id == flagged.id)
    assert (entry.outcome, entry.reason) == (Outcome.EXCLUDED, NEEDS_REVIEW)


def test_publishing_tells_each_family_once_in_its_language(
    app: Flask, runner: FlaskCliRunner, db: Session, families: list[Application]
) -> None:
    list_id = _build(runner, "--budget", "100")
    stop(db, families[0].phone)  # this family texted STOP: Twilio would refuse, so we do not send
    db.commit()
    published = runner.invoke(args=["lists", "publish", str(list_id)])
    assert published.exit_code == 0, published.output
    assert f"{len(families) - 1} families told by SMS, 1 not texted" in published.output
    again = runner.invoke(args=["lists", "publish", str(list_id)])
    assert again.exit_code == 1 and "already published" in again.output
    texted = select(Message).where(Message.purpose == "list_result")
    messages = list(db.scalars(texted.where(Message.status != MessageStatus.SUPPRESSED)))
    assert len(messages) == len({m.phone for m in messages}) == len(families) - 1
    assert families[0].phone not in {m.phone for m in messages}
    (withheld,) = db.scalars(texted.where(Message.status == MessageStatus.SUPPRESSED))
    assert (withheld.phone, withheld.error_code) == (families[0].phone, "stopped")
    by_phone = {m.phone: m for m in messages}
    entries = {e.application_id: e for e in _entries(db, list_id)}
    for application in families[1:]:
        body = by_phone[application.phone].body
        assert "1766" in body and grouped(application.reference) in body
        if entries[application.id].outcome == Outcome.SELECTED:
            # Selected: the voucher issued at publication, its code grouped like a reference.
            code = db.scalar(select(Voucher.code).where(Voucher.application_id == application.id))
            assert code is not None and grouped(code) in body
            continue
        # Not selected: the reason, and how to complain, in the family's own language.
        words = {"ar": "1766", "en": "To complain, call 1766", "fr": "1766"}[application.language]
        assert words in body
    # Asking for the status now gives the outcome, to the family that sent STOP as well.
    seen = set()
    with app.test_request_context():
        for application in families:
            said = status_text(status_of(application), "en")
            seen.add(entries[application.id].outcome)
            if entries[application.id].outcome == Outcome.SELECTED:
                assert "on the assistance list" in said and "not on" not in said
            else:
                assert "not on the assistance list" in said and "Call 1766" in said
    assert seen == {Outcome.SELECTED, Outcome.NOT_SELECTED, Outcome.EXCLUDED}
    english_public = by_phone[families[-2].phone]
    assert english_public.language == families[-2].language
    if english_public.language == "en":
        assert "public sector" in english_public.body


def test_a_list_is_built_only_after_the_round_closes(runner: FlaskCliRunner, db: Session) -> None:
    _open_round(db)
    _submit(db, 1)
    db.commit()
    refused = runner.invoke(args=["lists", "build", "--programme", "impact-2020", "--budget", "5"])
    assert refused.exit_code == 1 and "has not closed yet" in refused.output
    unknown = runner.invoke(args=["lists", "build", "--programme", "nope", "--budget", "5"])
    assert unknown.exit_code == 1 and "no round has the code 'nope'" in unknown.output
    for bad in (
        ["--budget", "0"],
        ["--budget", "lots"],
        ["--budget", "99999999999"],
        ["--budget", "5", "--quota", "town"],
    ):
        result = runner.invoke(args=["lists", "build", "--programme", "impact-2020", *bad])
        assert result.exit_code == 2 and "Traceback" not in result.output
    no_file = ["--budget", "5", "--formula", "/nonexistent/formula.json"]
    unreadable = runner.invoke(args=["lists", "build", "--programme", "impact-2020", *no_file])
    assert unreadable.exit_code == 1 and "formula.json: cannot be read" in unreadable.output
    missing = runner.invoke(args=["lists", "verify", "999999"])
    assert missing.exit_code == 1 and "there is no list 999999" in missing.output
