"""Twilio's SMS webhooks: delivery receipts at /sms/status (the inbound flow comes later)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/sms")
