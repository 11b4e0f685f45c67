"""Twilio's webhook signature, checked once for every adapter that Twilio calls (ivr/, sms/).

Twilio signs the URL it called (`PUBLIC_BASE_URL` + path + query, exactly as sent) and every
POST parameter. Behind a TLS-terminating proxy Flask sees another scheme and host, and
Werkzeug decodes percent-escapes in `request.url`; so the URL is rebuilt from the public
base, the path and the raw query string. All parameters are signed, including ones Twilio adds
later, so the whole form is validated, never a list of expected names.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

from flask import Request, Response, current_app, request
from twilio.request_validator import RequestValidator

from core.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"

P = ParamSpec("P")


def signed_url(req: Request, settings: Settings) -> str:
    """The URL Twilio called and signed, as it wrote it."""
    url = settings.public_base_url + req.path
    if req.query_string:
        # The raw bytes, undecoded: latin-1 maps each byte to one character, as it was sent.
        url += "?" + req.query_string.decode("latin-1")
    return url


def twilio_signature_valid(req: Request, settings: Settings) -> bool:
    """Whether the request carries a valid signature of Twilio's.

    Without an auth token nothing can be checked: refused, except in development, where the
    console backend has no Twilio account and webhooks are tried by hand (curl, a test page).
    """
    if not settings.twilio_auth_token:
        return settings.is_development
    signature = req.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    return bool(validator.validate(signed_url(req, settings), req.form, signature))


def twilio_webhook(view: Callable[P, Response]) -> Callable[P, Response]:
    """Refuse (403, empty body) a request to `view` that Twilio did not sign."""

    @functools.wraps(view)
    def checked(*args: P.args, **kwargs: P.kwargs) -> Response:
        settings: Settings = current_app.config["INTAKE_SETTINGS"]
        if not twilio_signature_valid(request, settings):
            log.warning("Twilio signature refused on %s", request.path)
            return Response(status=403, mimetype="text/plain")
        return view(*args, **kwargs)

    return checked
