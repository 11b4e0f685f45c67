"""Playing a caller's recorded complaint in the console, through the service.

Twilio keeps the recording; the agent's browser may not reach Twilio (and must not hold our
credentials), and the page's content policy allows media from this site only. So the
console asks here, and this fetches the MP3 from Twilio's API with the account's credentials.
Only URLs on Twilio's API (or the configured override) are fetched: a recording URL came in a
webhook, and nothing else may be reached through this.

When a recording's retention period is over (core/retention.py, `housekeeping`), Twilio's copy
is deleted here through the official library before the store forgets its address.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import requests
from flask import Response, abort
from twilio.base.exceptions import TwilioException, TwilioRestException

from core.retention import ForgetCopy, no_copy
from core.settings import Settings
from web.twilio_rest import make_client

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
TIMEOUT = 10.0
MAX_BYTES = 20 * 1024 * 1024  # a 2-minute recording is about 1 MB
_RECORDING_PATH = re.compile(
    r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Recordings/(RE[0-9A-Za-z]{2,64})"
)


def source_url(recording_url: str, settings: Settings) -> str | None:
    """The MP3's URL on Twilio's API (or the override's host), or None for any other URL."""
    parts = urlsplit(recording_url)
    if parts.scheme != "https" or parts.hostname != "api.twilio.com":
        return None
    if "/Recordings/" not in parts.path or parts.query or ".." in parts.path:
        return None
    base = (settings.twilio_api_base_url or TWILIO_API).rstrip("/")
    path = parts.path if parts.path.endswith(".mp3") else parts.path + ".mp3"
    return base + path


def play(recording_url: str, settings: Settings) -> Response:
    url = source_url(recording_url, settings)
    if url is None or not (settings.twilio_account_sid and settings.twilio_auth_token):
        abort(404)
    try:
        answer = requests.get(
            url,
            auth=(settings.twilio_account_sid, settings.twilio_auth_token),
            timeout=TIMEOUT,
            stream=True,
        )
    except requests.RequestException:
        abort(502)
    if answer.status_code != 200:
        abort(502)
    body = answer.raw.read(MAX_BYTES + 1, decode_content=True)
    if len(body) > MAX_BYTES:
        abort(502)
    response = Response(body, mimetype="audio/mpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


def forget_at_twilio(settings: Settings) -> ForgetCopy:
    """Deletes a recording's copy at Twilio; True once it is gone (a 404 means it already is).

    Without Twilio credentials there is no copy this service can reach: the account's own
    recording retention (README, "Retention") is what deletes it then.
    """
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    if not (sid and token):
        return no_copy
    client = make_client(sid, token, settings.twilio_api_base_url, TIMEOUT)

    def forget(recording_url: str) -> bool:
        recording = _our_recording(recording_url, sid)
        if recording is None:
            return True  # not a recording of this account: nothing of ours to delete
        try:
            client.recordings(recording).delete()
        except TwilioRestException as problem:
            if problem.status == 404:
                return True
            log.warning("Twilio did not delete a recording (HTTP %s): next run", problem.status)
            return False
        except (TwilioException, requests.RequestException) as problem:
            log.warning("Twilio unreachable to delete a recording (%s): next run", type(problem))
            return False
        return True

    return forget


def _our_recording(recording_url: str, account_sid: str) -> str | None:
    """The recording's SID, if the URL is one of this Twilio account's recordings."""
    parts = urlsplit(recording_url)
    if parts.scheme != "https" or parts.hostname != "api.twilio.com":
        return None
    path = parts.path.removesuffix(".mp3").removesuffix(".json")
    match = _RECORDING_PATH.fullmatch(path)
    if match is None or match.group(1) != account_sid:
        return None
    return match.group(2)
