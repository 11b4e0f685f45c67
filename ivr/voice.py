"""The 1766 voice menu: Twilio's voice webhooks under /ivr/, answered with TwiML."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ivr", __name__, url_prefix="/ivr")
