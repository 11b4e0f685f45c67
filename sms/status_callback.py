"""Twilio's delivery receipts at /sms/status; the inbound messages are sms/inbound.py's."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, request

from core.messages import record_status
from web import store
from web.twilio_auth import twilio_webhook

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms")

MAX_MESSAGE_ID = 2**31 - 1  # messages.id is a 32-bit integer on PostgreSQL
_MESSAGE_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only (str.isdigit accepts "²", "٣")
_PROVIDER_SID = re.compile(r"[A-Za-z0-9]{1,64}")  # fits messages.provider_sid
_ERROR_CODE = re.compile(r"[0-9]{1,12}")  # fits messages.error_code


@bp.post("/status")
@twilio_webhook
def status() -> Response:
    """A delivery receipt: applied once and only forward; always 204, so Twilio stops retrying.

    Unknown or malformed ids are answered the same way: a retry could not make them valid.
    """
    message_id = _message_id(request.args.get("m", ""))
    if message_id is not None:
        changed = record_status(
            store.db(),
            message_id,
            _matching(_PROVIDER_SID, request.form.get("MessageSid")),
            request.form.get("MessageStatus", ""),
            _matching(_ERROR_CODE, request.form.get("ErrorCode")),
        )
        store.commit()
        log.info("delivery report for message %s applied: %s", message_id, changed)
    return Response(status=204)


def _message_id(raw: str) -> int | None:
    if not _MESSAGE_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_MESSAGE_ID else None


def _matching(pattern: re.Pattern[str], value: str | None) -> str | None:
    """`value` if it has the expected shape, else None (never a too-long write)."""
    return value if value and pattern.fullmatch(value) else None
