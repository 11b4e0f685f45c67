"""Twilio's delivery receipts at /sms/status; the inbound messages are sms/inbound.py's."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, request

from core.delivery_codes import twilio_failure
from core.delivery_reports import DeliveryReport, apply_report
from core.notifications import dispatch
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
    A message it reports undelivered or failed may be owed again (core/resends.py): that new
    try is dispatched after the commit, so no job can look for it before it exists.
    """
    message_id = _message_id(request.args.get("m", ""))
    if message_id is not None:
        report = _report(message_id)
        owed = apply_report(store.db(), current_app.config["INTAKE_SETTINGS"].messaging, report)
        store.commit()
        dispatch(current_app.extensions["intake.jobs"], owed, new=True)
        log.info("delivery report for message %s applied, %d new tries", message_id, len(owed))
    return Response(status=204)


def _report(message_id: int) -> DeliveryReport:
    """Twilio's form as a `DeliveryReport`; its ErrorCode says what a failure means."""
    status = request.form.get("MessageStatus", "").strip().lower()
    error_code = _matching(_ERROR_CODE, request.form.get("ErrorCode"))
    failed = status in ("undelivered", "failed")
    return DeliveryReport(
        message_id=message_id,
        provider_sid=_matching(_PROVIDER_SID, request.form.get("MessageSid")),
        status=status,
        error_code=error_code,
        failure=twilio_failure(error_code) if failed else None,
        gateway="twilio",
    )


def _message_id(raw: str) -> int | None:
    if not _MESSAGE_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_MESSAGE_ID else None


def _matching(pattern: re.Pattern[str], value: str | None) -> str | None:
    """`value` if it has the expected shape, else None (never a too-long write)."""
    return value if value and pattern.fullmatch(value) else None
