"""The CLI's `--help`: every command and the top-level command groups answer it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner

# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "described"),
    [
        (["db", "upgrade"], "Apply every pending migration"),
        (["db", "check"], "models and the migrations disagree"),
        (["geo", "load"], "Add or update areas from PATH"),
        (["users", "add"], "Create one staff account"),
        (["users", "import"], "Create many accounts from a CSV"),
        (["programme", "set"], "Create the programme round or move its submission window"),
        (["demo"], "one demo account per role"),
        (["audit", "verify"], "Re-check the whole hash chain"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else "",
)
def test_every_command_has_help(
    fresh_runner: FlaskCliRunner, command: list[str], described: str
) -> None:
    """`--help` answers for every command, with its usage line and what it does."""
    result = fresh_runner.invoke(args=[*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert f"{' '.join(command)} [OPTIONS]" in result.output
    assert described in result.output


def test_top_level_help_lists_every_group(fresh_runner: FlaskCliRunner) -> None:
    """`flask --help` shows the operators' command groups."""
    result = fresh_runner.invoke(args=["--help"])
    assert result.exit_code == 0
    for name in ("db", "geo", "users", "programme", "audit", "demo"):
        assert f"  {name} " in result.output
