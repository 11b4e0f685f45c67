"""The pages that pick a round: the console's window, the dashboard, the lists, inspection and
their CSVs count the round asked for (`?round=CODE`, else the open one, else the latest) and
say which; an unknown round is a 404 in the reader's language; round 1's list is exported and
handed over after round 2 has opened; a family applies once per round."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.roles import Role
from distribution.handovers import Handover
from tests.plugins.citizen_forms import fill, newest_token, send_link
from tests.plugins.handover_world import approve_for_the_army
from tests.support.factories import HOME, make_user
from tests.support.households import pages
from tests.support.staff_web import csrf, signed_in
from tests.support.two_rounds import FIRST, SECOND, TwoRounds, build_two_rounds


@pytest.fixture
def round_pages_world(db: Session, clock: ModuleType) -> TwoRounds:
    """Round 1 closed with its published list, round 2 open (tests/support/two_rounds.py)."""
    return build_two_rounds(db, clock)


def html(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def counted_round(page: str) -> str:
    found = re.search(r'id="counted-round" data-round="([^"]*)"', page)
    assert found, "the page does not say which round it counts"
    return found.group(1)


def figure(page: str, name: str) -> int:
    found = re.search(rf'data-figure="{name}">([\d,]+)<', page)
    assert found, name
    return int(found.group(1).replace(",", ""))


def csv_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_console_shows_the_open_round_then_the_latest_once_it_closes(
    client: FlaskClient, clock: ModuleType, round_pages_world: TwoRounds
) -> None:
    home = html(signed_in(client, "ministry"), "/console")
    assert 'data-round="round-2"' in home and "The window is open." in home
    clock.advance(round_pages_world.second.closes_at - clock.now() + timedelta(days=1))
    home = html(client, "/console")
    assert 'data-round="round-2"' in home and "The window is closed." in home


def test_the_dashboard_counts_the_round_it_picks_and_says_which(
    client: FlaskClient, round_pages_world: TwoRounds
) -> None:
    signed_in(client, "ministry")
    default = html(client, "/console/dashboard")
    assert counted_round(default) == SECOND
    assert figure(default, "forms_completed") == 2 and figure(default, "links_sent") == 2
    assert '<option value="round-1">' in default and '<option value="round-2" selected>' in default
    first = html(client, f"/console/dashboard?round={FIRST}")
    assert counted_round(first) == FIRST
    assert figure(first, "forms_completed") == 3 and figure(first, "links_sent") == 3
    assert f'/console/dashboard/forms.csv?round={FIRST}"' in first
    header, *rows = csv_of(html(client, f"/console/dashboard/forms.csv?round={FIRST}"))
    assert header[-1] == "Round" and {row[-1] for row in rows} == {FIRST}
    assert sum(int(row[header.index("Forms completed")]) for row in rows) == 3
    header, *rows = csv_of(html(client, "/console/dashboard/complaints.csv"))
    assert "Round" not in header  # complaints belong to no round


def test_an_unknown_round_is_a_clear_404_in_the_reader_s_language(
    client: FlaskClient, round_pages_world: TwoRounds
) -> None:
    signed_in(client, "inspector")
    english = html(client, "/inspection/applications?round=round-9", 404)
    assert "No round has the code round-9." in english
    client.get("/language/ar")
    arabic = html(client, "/console/lists?round=round-9", 404)
    assert "لا توجد دورة رمزها round-9" in arabic
    client.get("/language/fr")
    french = html(client, "/console/dashboard?round=%3Cb%3E", 404)
    assert "Aucun cycle" in french and "&lt;b&gt;" in french and "<b>" not in french


def test_the_lists_of_each_round_and_each_list_s_round(
    client: FlaskClient, round_pages_world: TwoRounds
) -> None:
    signed_in(client, "army")
    default = html(client, "/console/lists")
    assert counted_round(default) == SECOND and 'class="list-row"' not in default
    first = html(client, f"/console/lists?round={FIRST}")
    assert counted_round(first) == FIRST and first.count('class="list-row"') == 1
    listed = html(client, f"/console/lists/{round_pages_world.first_list.id}")
    assert 'id="list-round" data-round="round-1"' in listed


def test_inspection_lists_and_exports_one_round_with_its_code(
    client: FlaskClient, round_pages_world: TwoRounds
) -> None:
    signed_in(client, "inspector")
    default = html(client, "/inspection/applications")
    assert counted_round(default) == SECOND and default.count('class="application-row"') == 2
    first = html(client, f"/inspection/applications?round={FIRST}")
    assert counted_round(first) == FIRST and first.count('class="application-row"') == 3
    assert f"/inspection/applications.csv?round={FIRST}" in first  # the download keeps it
    token = csrf(client, "/inspection")
    exported = client.post(
        f"/inspection/applications.csv?round={FIRST}", data={"csrf_token": token}
    )
    header, *rows = csv_of(exported.get_data(as_text=True))
    assert header[-1] == "round" and len(rows) == 3 and {row[-1] for row in rows} == {FIRST}
    calls = html(client, "/inspection/calls")
    assert 'id="counted-round"' not in calls and 'name="round"' not in calls


def test_round_1_is_exported_and_handed_over_after_round_2_opened(
    client: FlaskClient, db: Session, round_pages_world: TwoRounds
) -> None:
    approve_for_the_army(db, round_pages_world.first_list)
    db.commit()
    signed_in(client, "army")
    path = f"/console/lists/{round_pages_world.first_list.id}/{HOME}.csv"
    exported = client.post(path, data={"csrf_token": csrf(client, "/console/lists")})
    assert exported.status_code == 200
    header, *rows = csv_of(exported.get_data(as_text=True))
    assert header[-1] == "round" and len(rows) == 2 and {row[-1] for row in rows} == {FIRST}
    code = rows[0][header.index("voucher_code")]
    form = {"outcome": "handed_over", "id_seen": "yes", "signature_obtained": "yes"}
    done = client.post(
        f"/console/vouchers/{code}/handover",
        data={"csrf_token": csrf(client, "/console/vouchers/verify"), **form},
    )
    assert done.status_code == 302
    assert 'data-status="used"' in html(client, done.headers["Location"])
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Handover)) == 1


def test_a_family_applies_once_per_round_on_the_form(
    client: FlaskClient, app: Flask, db: Session, round_pages_world: TwoRounds
) -> None:
    make_user(db, Role.FOCAL_POINT, HOME, username="focal")
    db.commit()
    signed_in(client, "focal")
    assert send_link(client, "03 123 456").status_code == 302
    new_family_in_round = fill(app.test_client(), f"/f/{newest_token(db)}", pages(3))
    assert new_family_in_round.status_code == 200  # family 3 sent round 1's form only
    assert send_link(client, "71 123 456", language="en").status_code == 302
    twice = fill(app.test_client(), f"/f/{newest_token(db)}", pages(1))
    assert twice.status_code == 409  # family 1 sent round 1's form and round 2's already
    assert "This family already has a form in this round" in twice.get_data(as_text=True)
    second = round_pages_world.second.id
    in_round_2 = select(func.count()).where(Application.programme_id == second)
    db.expire_all()
    assert db.scalar(in_round_2.select_from(Application)) == 3
