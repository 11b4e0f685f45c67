"""The aggregator's webhooks: delivery reports at /sms/http/status, SMS at /sms/http/inbound.

Both are authenticated by `SMS_HTTP_REPORT_SECRET`: an HMAC-SHA256 of the raw body, in hex, in
the signature header (`SMS_HTTP_SIGNATURE_HEADER`, a `sha256=` prefix allowed), or the secret
itself in the shared-secret header (`SMS_HTTP_SECRET_HEADER`), for aggregators that can only
add a fixed header. Both are compared in constant time; anything else is refused (403) before
the body is read as a report. Bodies are JSON or a form, with field names from the settings.

A report is applied once and only forward (core/delivery_reports.py): a replay or a late
report changes nothing; one about a message we do not know is answered 204 all the same, so
the provider stops retrying what no retry could make valid. An inbound SMS goes through the
same path as Twilio's (sms/inbound.py `take`): buffered, decided by the consumers, and its
reply owed as an SMS of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Request, Response, current_app, request
from werkzeug.datastructures import Headers

from core import inbox
from core.db import utcnow
from core.delivery_reports import DeliveryReport, apply_report
from core.http_gateway_settings import HttpGatewaySettings
from core.inbox import RawSms
from core.notifications import dispatch
from core.settings import Settings
from sms.http_backend import NAME, dotted
from sms.inbound import take
from web import store

log = logging.getLogger(__name__)

bp = Blueprint("sms_http", __name__, url_prefix="/sms/http")

MAX_BODY = 16 * 1024  # a report or an SMS is a few hundred bytes; an SMS' text is cut to fit
_PROVIDER_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # fits messages.provider_sid
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,12}")  # fits messages.error_code
_SENDER = re.compile(r"\+?[0-9]{3,20}")
_MESSAGE_ID = re.compile(r"[0-9]{1,10}")  # our id in the callback URL's `m`, ASCII digits only
MAX_MESSAGE_ID = 2**31 - 1


class Refused(Exception):
    """The request cannot be taken: its HTTP status, and why (for the log, nothing personal)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@bp.post("/status")
def status() -> Response:
    """One delivery report (or a JSON list of them): 204 once applied or ignored."""
    try:
        config = _config()
        documents = _signed_documents(request, config)
        reports = [_report(document, config) for document in documents]
    except Refused as refused:
        return _refusal(refused)
    owed: list[int] = []
    messaging = _settings().messaging
    for report in reports:
        if report is not None:
            owed += apply_report(store.db(), messaging, report)
    store.commit()
    dispatch(current_app.extensions["intake.jobs"], owed, new=True)
    log.info("aggregator reports: %d read, %d new tries", len(reports), len(owed))
    return Response(status=204)


@bp.post("/inbound")
def inbound() -> Response:
    """One SMS to 1766 from the aggregator: 200 once buffered or kept, 503 when busy."""
    try:
        config = _config()
        data = _signed_body(request, config)
        (document,) = _documents(data, request.mimetype, single=True)
        raw = _raw_sms(document, config, data)
    except Refused as refused:
        return _refusal(refused)
    if not take(raw, "sms"):
        return Response("busy", status=503, mimetype="text/plain", headers={"Retry-After": "5"})
    return Response(status=204)


def _settings() -> Settings:
    settings: Settings = current_app.config["INTAKE_SETTINGS"]
    return settings


def _config() -> HttpGatewaySettings:
    config = _settings().http_gateway
    if config is None:
        raise Refused(404, "no aggregator is configured")
    return config


def _signed_documents(req: Request, config: HttpGatewaySettings) -> list[Mapping[str, Any]]:
    return _documents(_signed_body(req, config), req.mimetype, single=False)


def _signed_body(req: Request, config: HttpGatewaySettings) -> bytes:
    """The raw body, once its signature or shared secret checked out."""
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise Refused(413, "body too large")
    data = req.get_data(cache=True)
    if len(data) > MAX_BODY:
        raise Refused(413, "body too large")
    if not authentic(config, data, req.headers):
        raise Refused(403, "signature or secret refused")
    return data


def authentic(
    config: HttpGatewaySettings, data: bytes, headers: Headers | Mapping[str, str]
) -> bool:
    """Whether the body carries a valid HMAC-SHA256 signature, or the request the secret."""
    secret = config.report_secret.encode()
    signature = headers.get(config.signature_header, "").strip()
    if signature:
        given = signature.removeprefix("sha256=").lower().encode("utf-8", "replace")
        expected = hmac.new(secret, data, hashlib.sha256).hexdigest().encode()
        return hmac.compare_digest(given, expected)
    shared = headers.get(config.secret_header, "").strip()
    return bool(shared) and hmac.compare_digest(shared.encode("utf-8", "replace"), secret)


def _documents(data: bytes, mimetype: str, single: bool) -> list[Mapping[str, Any]]:
    """The body as field mappings: a JSON object (or a list of them), or a form."""
    try:
        text = data.decode("utf-8")
        if mimetype == "application/json" or mimetype.endswith("+json"):
            parsed = json.loads(text)
        else:
            parsed = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=64))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "body is not JSON or a form") from None
    documents = parsed if isinstance(parsed, list) and not single else [parsed]
    if not 0 < len(documents) <= 100 or not all(isinstance(d, dict) for d in documents):
        raise Refused(400, "body holds no report object")
    return documents


def _report(document: Mapping[str, Any], config: HttpGatewaySettings) -> DeliveryReport | None:
    """The report in Twilio's words; None when its status word means nothing to us."""
    provider_id = _text(dotted(document, config.report_id_field))
    message_id = _message_id(request.args.get("m", ""))
    word = _text(dotted(document, config.report_status_field))
    if (provider_id is None and message_id is None) or not word:
        raise Refused(400, "report without an id or a status")
    meaning = config.status_map.get(word.lower())
    if meaning is None:
        log.info("aggregator report with an unmapped status word: ignored")
        return None
    code = _text(dotted(document, config.report_code_field))
    failed = meaning.status in ("undelivered", "failed")
    return DeliveryReport(
        message_id=message_id,
        provider_sid=provider_id if provider_id and _PROVIDER_ID.fullmatch(provider_id) else None,
        status=meaning.status,
        error_code=code if code and _ERROR_CODE.fullmatch(code) else None,
        failure=meaning.failure if failed else None,
        gateway=NAME,
    )


def _message_id(raw: str) -> int | None:
    """Our id from the callback URL we gave with the message (`{callback}`), if it is one."""
    if not _MESSAGE_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_MESSAGE_ID else None


def _raw_sms(document: Mapping[str, Any], config: HttpGatewaySettings, data: bytes) -> RawSms:
    """The SMS as the inbound path takes it; its id is the aggregator's, or the body's hash
    (a replayed request is then the same message, decided once)."""
    sender = _text(dotted(document, config.inbound_from_field))
    body = dotted(document, config.inbound_text_field)
    if not sender or not isinstance(body, str | int | float) or isinstance(body, bool):
        raise Refused(400, "SMS without a sender or a text")
    provider_id = _text(dotted(document, config.inbound_id_field))
    key = provider_id or hashlib.sha256(data).hexdigest()
    return RawSms(
        sid=("http-" + key)[: inbox.SID_LENGTH],  # never equal to an id of an outbound SMS
        sender=_sender(sender),
        recipient=config.sender,
        body=str(body)[: inbox.MAX_BODY],
        received_at=utcnow(),
    )


def _sender(value: str) -> str:
    """`9613123456` as aggregators often write it: `+9613123456`; anything else as sent."""
    compact = value.replace(" ", "")
    if _SENDER.fullmatch(compact) and compact.startswith("961"):
        return "+" + compact
    return value[:32]


def _text(value: Any) -> str | None:
    """A scalar field as text (a JSON number too); None when absent, empty or not a scalar."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def _refusal(refused: Refused) -> Response:
    log.warning("aggregator request to %s refused: %s", request.path, refused)
    return Response(status=refused.status, mimetype="text/plain")
