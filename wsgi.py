"""The WSGI entry point (`gunicorn wsgi:app`, `flask --app wsgi ...`).

A bad setting stops the process here with one line naming it, before anything is served and
before any command runs. Only `flask --app wsgi ... --help` goes on without settings: help is
printed by an app that has the commands and runs none of them.
"""

import os
import sys
from pathlib import Path

# Every process started from the checkout counts into one directory, so /metrics sums them all
# (prometheus_client's multiprocess mode; gunicorn.conf.py sets the same for the web workers).
# Set before anything imports prometheus_client, which reads it once.
_METRICS = Path(__file__).resolve().parent / "var" / "metrics"
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_METRICS))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

import click  # noqa: E402

from assembly.app import create_app, create_help_app  # noqa: E402
from core.settings import SettingsError  # noqa: E402


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
