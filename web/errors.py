"""Error pages in the reader's language: never a stack trace, never a half-written record."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def init_errors(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)


def _page(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("error.html", title=title, message=message), status


def _csrf(error: CSRFError) -> ResponseReturnValue:
    return _page(
        400,
        _("The form has expired"),
        _("The page was open too long or was sent twice. Go back, reload it and try again."),
    )


def _http(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    messages = {
        400: (
            _("Something in the request was not right"),
            _("Check what you entered and try again."),
        ),
        403: (_("Not allowed"), _("Your account does not give access to this page.")),
        404: (_("Page not found"), _("Check the address, or go back to the start.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        413: (_("Too much data"), _("What was sent is larger than this service accepts.")),
        429: (_("Too many requests"), _("Wait a few minutes and try again.")),
    }
    title, message = messages.get(
        status, (_("Something went wrong"), _("Please try again in a few minutes."))
    )
    return _page(status, title, message)


def _unexpected(error: Exception) -> ResponseReturnValue:
    # The type only: exception messages may quote what a citizen typed.
    log.error("unhandled %s", type(error).__name__, exc_info=False)
    return _page(
        500,
        _("Something went wrong"),
        _("Nothing you entered was saved. Please try again in a few minutes."),
    )
