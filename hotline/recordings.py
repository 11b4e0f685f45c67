"""Playing a caller's recorded complaint in the console, through the service.

Twilio keeps the recording; the agent's browser may not reach Twilio (and must not hold our
credentials), and the page's content policy allows media from this site only. So the
console asks here, and this fetches the MP3 from Twilio's API with the account's credentials.
Only URLs on Twilio's API (or the configured override) are fetched: a recording URL came in a
webhook, and nothing else may be reached through this.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from flask import Response, abort

from core.settings import Settings

TWILIO_API = "https://api.twilio.com"
TIMEOUT = 10.0
MAX_BYTES = 20 * 1024 * 1024  # a 2-minute recording is about 1 MB


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
