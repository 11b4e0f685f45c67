"""The CLI's `--help`: every command and the top-level command groups answer it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from cli import register_commands

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


# --- help without settings -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _command_paths(command: click.Command, path: list[str]) -> Iterator[list[str]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _command_paths(sub, [*path, name])


def _every_command() -> list[list[str]]:
    app = Flask(__name__)
    register_commands(app)
    return [[], *(p for n, c in app.cli.commands.items() for p in _command_paths(c, [n]))]


def _bare_production_environment() -> dict[str, str]:
    """The environment of a fresh production machine: no secret, no store, no settings."""
    unset = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in unset and not k.startswith(("TWILIO_", "FLASK_", "VOUCHER_", "AUDIT_"))
    }
    return env | {"INTAKE_ENV": "production"}


@pytest.mark.parametrize("command", _every_command(), ids=lambda path: "-".join(path) or "flask")
def test_help_prints_on_a_machine_without_settings(command: list[str]) -> None:
    """`flask --app wsgi <command> --help` needs no secret: the operator reads it first."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *command, "--help"],
        cwd=ROOT,
        env=_bare_production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: "), result.stdout + result.stderr
    assert " ".join(["flask", *command]) in result.stdout.splitlines()[0]
    assert "SECRET_KEY" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["users", "add", "someone", "--area", "--help", "--role", "admin"]],
    ids=["db-upgrade", "help-as-a-value"],
)
def test_without_settings_a_command_still_refuses_to_run(command: list[str]) -> None:
    """Help aside, production still stops at start naming the missing setting."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *command],
        cwd=ROOT,
        env=_bare_production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "1766 Intake cannot start: setting SECRET_KEY: is required" in result.stderr
