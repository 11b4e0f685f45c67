"""Several rounds: which round is open and which a page counts by default, links of the open
round only, one form per family per round, and figures, lists and exports counted per round."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType

import pytest
from click.testing import Result
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from core.area_counts import RowKind
from core.dashboard import Chart, chart
from core.exports import columns_of, export_rows
from core.geography import NATIONAL
from core.inspection import Filters, Kind, list_page
from core.link_lifecycle import OutsideWindow, issue_link
from core.links import Channel
from core.programme import set_window
from core.rounds import (
    UnknownRound,
    all_rounds,
    chosen_round,
    default_round,
    narrowing,
    open_round,
    round_code,
)
from core.scopes import viewpoint
from core.submissions import DuplicateFamily
from tests.support.households import submitted
from tests.support.two_rounds import FIRST, LATER, SECOND, START, TwoRounds, build_two_rounds


@pytest.fixture
def rounds_world(db: Session, clock: ModuleType) -> TwoRounds:
    """Round 1 closed with its published list, round 2 open (tests/support/two_rounds.py)."""
    return build_two_rounds(db, clock)


def codes(found: object) -> str | None:
    return getattr(found, "code", None)


def test_the_default_round_is_the_open_one_then_the_latest_that_opened(
    db: Session, clock: ModuleType, rounds_world: TwoRounds
) -> None:
    assert codes(open_round(db)) == codes(default_round(db)) == SECOND
    assert [p.code for p in all_rounds(db)] == [SECOND, FIRST]
    # A third round set up for later is not the default before it opens.
    later = rounds_world.second.closes_at + timedelta(days=30)
    set_window(db, later, later + timedelta(days=14), "test", LATER)
    clock.advance(rounds_world.second.closes_at - clock.now() + timedelta(hours=1))
    assert open_round(db) is None
    assert codes(default_round(db)) == SECOND
    clock.advance(later - clock.now())
    assert codes(open_round(db)) == codes(default_round(db)) == LATER


def test_a_round_is_chosen_by_its_code_and_an_unknown_code_is_an_error(
    db: Session, rounds_world: TwoRounds
) -> None:
    assert codes(chosen_round(db, FIRST)) == FIRST
    assert codes(chosen_round(db, None)) == codes(chosen_round(db, "")) == SECOND
    with pytest.raises(UnknownRound) as refused:
        chosen_round(db, "round-9")
    assert refused.value.code == "round-9"
    assert round_code(db, rounds_world.first.id) == FIRST


def test_with_no_round_set_nothing_is_chosen_and_no_link_is_issued(db: Session) -> None:
    assert default_round(db) is None and chosen_round(db, None) is None
    assert narrowing(db, None) is None
    with pytest.raises(OutsideWindow):
        issue_link(db, None, None, "ar", Channel.HOTLINE)


def test_links_belong_to_the_open_round_even_when_a_later_one_is_set_up(
    db: Session, rounds_world: TwoRounds
) -> None:
    later = rounds_world.second.closes_at + timedelta(days=30)
    set_window(db, later, later + timedelta(days=14), "test", LATER)
    link, _token = issue_link(db, None, None, "ar", Channel.HOTLINE)
    assert link.programme_id == rounds_world.second.id


def test_a_family_applies_once_per_round(db: Session, rounds_world: TwoRounds) -> None:
    again = rounds_world.second_families[0]
    first = rounds_world.first_families[0]
    assert again.programme_id == rounds_world.second.id != first.programme_id
    assert again.reference != first.reference
    with pytest.raises(DuplicateFamily) as refused:
        submitted(db, 1, phone="+96171999001")  # family 1 again, in round 2
    assert refused.value.reference == again.reference


def test_counts_are_narrowed_to_a_round_only_when_there_are_several(
    db: Session, clock: ModuleType
) -> None:
    clock.freeze(START)
    first = set_window(db, START, START + timedelta(days=7), "test", FIRST)
    assert narrowing(db, first) is None  # every record is the only round's
    later = START + timedelta(days=30)
    second = set_window(db, later, later + timedelta(days=7), "test", SECOND)
    assert narrowing(db, first) == first.id and narrowing(db, second) == second.id


def forms(db: Session, clock: ModuleType, programme_id: int | None) -> tuple[int, int]:
    """Forms completed nationally, and links sent, as the dashboard counts them."""
    completed = chart(db, NATIONAL, Chart.FORMS, clock.now(), programme_id).total("completed")
    sent = chart(db, NATIONAL, Chart.LINKS, clock.now(), programme_id).total("sent")
    return completed, sent


def test_the_dashboard_counts_links_and_forms_of_one_round(
    db: Session, clock: ModuleType, rounds_world: TwoRounds
) -> None:
    assert forms(db, clock, rounds_world.first.id) == (3, 3)
    assert forms(db, clock, rounds_world.second.id) == (2, 2)
    assert forms(db, clock, None) == (5, 5)  # no round named: everything
    daily = chart(db, NATIONAL, Chart.DAILY, clock.now(), rounds_world.second.id)
    assert daily.kind is RowKind.DAY and daily.total("forms_completed") == 2


def test_inspection_lists_and_exports_one_round_and_say_which(
    db: Session, rounds_world: TwoRounds
) -> None:
    viewer = viewpoint(rounds_world.inspector)
    for code, expected in (
        (FIRST, rounds_world.first_families),
        (SECOND, rounds_world.second_families),
    ):
        page = list_page(db, viewer, Kind.APPLICATIONS, Filters(round=code))
        assert {a.id for a in page.records} == {a.id for a in expected}
        lines = list(export_rows(db, viewer, Kind.APPLICATIONS, Filters(round=code)))
        assert len(lines) == len(expected) and {line[-1] for line in lines} == {code}
        links = list(export_rows(db, viewer, Kind.LINKS, Filters(round=code)))
        assert len(links) == len(expected) and {line[-1] for line in links} == {code}
    assert columns_of(Kind.APPLICATIONS)[-1] == columns_of(Kind.LINKS)[-1] == "round"
    assert "round" not in columns_of(Kind.CALLS)
    assert list_page(db, viewer, Kind.APPLICATIONS, Filters(round="round-9")).rows == []


def lists_index(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=["lists", "index", *args])


def test_the_lists_command_picks_a_round(runner: FlaskCliRunner, rounds_world: TwoRounds) -> None:
    first = lists_index(runner, "--round", FIRST)
    assert first.exit_code == 0, first.output
    assert f"round {FIRST}: 1 lists" in first.output
    assert f"list {rounds_world.first_list.id}: 3 families, 2 selected" in first.output
    default = lists_index(runner)
    assert default.exit_code == 0 and f"round {SECOND}: 0 lists" in default.output
    unknown = lists_index(runner, "--round", "round-9")
    assert unknown.exit_code == 1 and "no round has the code 'round-9'" in unknown.output
    shown = runner.invoke(args=["lists", "show", str(rounds_world.first_list.id)])
    assert shown.exit_code == 0 and f"round: {FIRST}" in shown.output
