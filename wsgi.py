"""The WSGI entry point (`gunicorn wsgi:app`, `flask --app wsgi ...`).

A bad setting stops the process here with one line naming it, before anything is served.
"""

import sys

from core.settings import SettingsError
from web.app import create_app

try:
    app = create_app()
except SettingsError as error:
    print(f"1766 Intake cannot start: {error}", file=sys.stderr)
    raise SystemExit(2) from None
