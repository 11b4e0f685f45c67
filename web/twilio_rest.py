"""Twilio's REST client as every adapter that calls Twilio builds it (sms/, hotline/).

Adapters may not import each other, so the one way to build a client lives here: a timeout,
the optional base-URL override (`TWILIO_API_BASE_URL`, the tests' fake Twilio server), and an
HTTP logger of our own kept at WARNING, because the library logs every request's query at
INFO and a query carries a citizen's or an agent's number (`To=`).
"""

from __future__ import annotations

import logging

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

http_log = logging.getLogger("web.twilio_rest.http")
http_log.setLevel(logging.WARNING)  # twilio logs each request's query (a phone number)


def make_client(
    account_sid: str, auth_token: str, api_base_url: str | None, timeout: float
) -> Client:
    """A REST client with a timeout, a quiet logger, and the optional base-URL override."""
    http_client = TwilioHttpClient(timeout=timeout, logger=http_log)
    client = Client(account_sid, auth_token, http_client=http_client)
    if api_base_url:
        # Every 2010-04-01 resource (Messages, Calls) joins its path onto the api domain's
        # base_url; an edge or region (TWILIO_EDGE / TWILIO_REGION in the environment) would
        # rewrite the host of every URL, the override's included.
        client.edge = None
        client.region = None
        client.api.base_url = api_base_url
    return client
