"""/dev/phone: a trainer or developer plays the citizen against the real webhooks (development)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("phone_simulator", __name__, url_prefix="/dev")
