"""`programme set`: the window stored in UTC, shown in Beirut time, refused when impossible."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.programme import Programme, current_programme
from tests.plugins.cli import assert_refused, count

# --- programme set -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opens", "closes", "stored", "shown"),
    [
        (
            "2020-04-20T00:00",
            "2020-05-04T24:00",
            (datetime(2020, 4, 19, 21, tzinfo=UTC), datetime(2020, 5, 4, 21, tzinfo=UTC)),
            "opens 2020-04-20 00:00, closes 2020-05-05 00:00 (Beirut)",
        ),
        (  # winter: Beirut is UTC+2
            "2020-01-10 08:00",
            "2020-01-10 24:00:00",
            (datetime(2020, 1, 10, 6, tzinfo=UTC), datetime(2020, 1, 10, 22, tzinfo=UTC)),
            "opens 2020-01-10 08:00, closes 2020-01-11 00:00 (Beirut)",
        ),
        (  # explicit offsets are kept
            "2020-04-20T00:00+00:00",
            "2020-05-04T21:00Z",
            (datetime(2020, 4, 20, tzinfo=UTC), datetime(2020, 5, 4, 21, tzinfo=UTC)),
            "opens 2020-04-20 03:00, closes 2020-05-05 00:00 (Beirut)",
        ),
        (  # 24:00 with an offset is that offset's next midnight
            "2020-04-20T00:00+03:00",
            "2020-05-04T24:00+03:00",
            (datetime(2020, 4, 19, 21, tzinfo=UTC), datetime(2020, 5, 4, 21, tzinfo=UTC)),
            "opens 2020-04-20 00:00, closes 2020-05-05 00:00 (Beirut)",
        ),
    ],
    ids=["circular-2020", "winter", "with-offsets", "midnight-24-with-offset"],
)
def test_programme_set_stores_utc_and_shows_beirut_time(
    runner: FlaskCliRunner,
    db: Session,
    opens: str,
    closes: str,
    stored: tuple[datetime, datetime],
    shown: str,
) -> None:
    """Times typed in Beirut (24:00 is the next midnight) are stored in UTC and shown back."""
    result = runner.invoke(args=["programme", "set", "--opens", opens, "--closes", closes])
    assert result.exit_code == 0, result.output
    assert f"impact-2020: {shown}" in result.output
    db.expire_all()
    programme = current_programme(db)
    assert programme is not None and programme.code == "impact-2020"
    assert (programme.opens_at, programme.closes_at) == stored
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "programme.window_set")))
    assert [(e.object_type, e.object_id) for e in events] == [("programme", "impact-2020")]


def test_programme_set_again_moves_the_window(runner: FlaskCliRunner, db: Session) -> None:
    """A second run moves the same round's window; each move is an audit event."""
    first = ["programme", "set", "--opens", "2020-04-20T00:00", "--closes", "2020-05-04T24:00"]
    second = ["programme", "set", "--opens", "2020-04-20T00:00", "--closes", "2020-05-11T24:00"]
    assert runner.invoke(args=first).exit_code == 0
    result = runner.invoke(args=second)
    assert result.exit_code == 0, result.output
    assert "closes 2020-05-12 00:00 (Beirut)" in result.output
    assert count(db, Programme) == 1
    programme = current_programme(db)
    assert programme is not None
    assert programme.closes_at == datetime(2020, 5, 11, 21, tzinfo=UTC)
    moves = db.scalar(select(func.count()).where(AuditEvent.action == "programme.window_set"))
    assert moves == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--opens", "2020-05-04T24:00", "--closes", "2020-04-20T00:00"],
            "the window must close after it opens",
        ),
        (  # the same instant written two ways
            ["--opens", "2020-05-05T00:00", "--closes", "2020-05-04T24:00"],
            "the window must close after it opens",
        ),
        (
            ["--opens", "next monday", "--closes", "2020-05-04T24:00"],
            "'next monday' is not an ISO date-time such as 2020-05-04T24:00",
        ),
        (["--opens", "2020-04-20", "--closes", "2020-05-04T25:00"], "'2020-05-04T25:00' is not"),
        (["--opens", "2020-02-30T00:00", "--closes", "2020-05-04"], "'2020-02-30T00:00' is not"),
        (
            ["--opens", "2020-04-20", "--closes", "2020-05-04", "--code", "Impact 2020"],
            "programme code 'Impact 2020' must be",
        ),
    ],
    ids=["closes-first", "empty-window", "words", "hour-25", "february-30", "bad-code"],
)
def test_programme_set_refuses(
    runner: FlaskCliRunner, db: Session, options: list[str], message: str
) -> None:
    """A window that cannot be is refused with the reason; nothing is stored or audited."""
    result = runner.invoke(args=["programme", "set", *options])
    assert_refused(result, message)
    assert count(db, Programme) == 0
    assert count(db, AuditEvent) == 0
