"""`db upgrade` and `db check` on a new store, and other commands refusing before the upgrade."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner

from tests.plugins.cli import GOOD_PASSWORD, add_user_args, assert_refused
from tests.support.factories import HOME, LOCALITIES

# --- db upgrade / db check on a new store --------------------------------------------------


def test_db_upgrade_then_check_on_a_new_store(fresh_runner: FlaskCliRunner) -> None:
    """A new SQLite file is migrated (twice is harmless), agrees with the models, and works."""
    first = fresh_runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "store is up to date" in first.output
    again = fresh_runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, again.output
    assert "store is up to date" in again.output
    check = fresh_runner.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output
    assert "models and migrations agree" in check.output
    added = fresh_runner.invoke(
        args=add_user_args("minister", "ministry", "LB"), input=GOOD_PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    verify = fresh_runner.invoke(args=["audit", "verify"])
    assert "audit trail intact: 1 events" in verify.output


@pytest.mark.parametrize(
    ("command", "stdin"),
    [
        (add_user_args("minister", "ministry", "LB"), GOOD_PASSWORD + "\n"),
        (add_user_args("chiyah", "focal_point", HOME), GOOD_PASSWORD + "\n"),
        (["programme", "set", "--opens", "2020-04-20", "--closes", "2020-05-04T24:00"], None),
        (["audit", "verify"], None),
        (["geo", "load", str(LOCALITIES)], None),
    ],
    ids=["users-add-national", "users-add-locality", "programme-set", "audit-verify", "geo-load"],
)
def test_commands_on_a_store_without_tables_say_to_upgrade(
    fresh_runner: FlaskCliRunner, command: list[str], stdin: str | None
) -> None:
    """Before `db upgrade`, a command that needs the tables says so instead of a traceback."""
    result = fresh_runner.invoke(args=command, input=stdin)
    assert_refused(result, "the store is not set up: run `flask --app wsgi db upgrade` first")


def test_db_check_on_a_store_without_tables(fresh_runner: FlaskCliRunner) -> None:
    """`db check` before `db upgrade` exits non-zero with a message, not a traceback."""
    result = fresh_runner.invoke(args=["db", "check"])
    assert_refused(result)
