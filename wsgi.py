"""The WSGI entry point (`gunicorn wsgi:app`, `flask --app wsgi ...`).

A bad setting stops the process here with one line naming it, before anything is served and
before any command runs. Only `flask --app wsgi ... --help` goes on without settings: help is
printed by an app that has the commands and runs none of them.
"""

import sys

import click

from core.settings import SettingsError
from web.app import create_app, create_help_app


def asks_for_help(argv: list[str]) -> bool:
    """The `flask` command line asks only for help (`--help` before any `--`)."""
    if click.get_current_context(silent=True) is None:  # not under `flask`: gunicorn, a script
        return False
    args = argv[1:]
    if "--" in args:
        args = args[: args.index("--")]
    return "--help" in args


try:
    app = create_app()
except SettingsError as error:
    if not asks_for_help(sys.argv):
        print(f"1766 Intake cannot start: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    app = create_help_app(error)
