"""SMS to 1766: keywords in Arabic, English and French at POST /sms/inbound, answered with TwiML."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sms_inbound", __name__, url_prefix="/sms")
