"""The baseline of the inbound SMS benchmarks: a bare Flask webhook on the same gunicorn.

It does the least a webhook must: check Twilio's signature over the public URL and every POST
parameter (twilio's RequestValidator, as web/twilio_auth.py does) and answer an empty
`<Response/>`. Nothing is stored. What the service accepts per second is compared with this,
measured in the same run on the same server shape (`bench.inbound`).

Served by `gunicorn bench.bare_webhook:app`; it reads TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL
from the environment, like the service.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

app = Flask(__name__)
_VALIDATOR = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))
_PUBLIC = os.environ.get("PUBLIC_BASE_URL", "")


@app.post("/sms/inbound")
def inbound() -> Response:
    url = _PUBLIC + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not _VALIDATOR.validate(url, request.form, signature):
        return Response(status=403, mimetype="text/plain")
    return Response("<Response/>", mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok", mimetype="text/plain")
