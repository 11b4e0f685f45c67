"""Settings of the local aggregator reached over HTTP (`SMS_BACKEND=http` or `twilio,http`).

Aggregators differ in everything but the idea: a URL that takes a number and a text, an answer
naming the message, and reports posted back later. So the request, its authentication, where
the answer keeps the id, and how reports name their fields and statuses are all settings,
checked here once at start, each error naming the setting (README, "A second SMS provider").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

from core.delivery_codes import FailureKind
from core.setting_errors import SettingsError, small_int

PLACEHOLDERS = frozenset({"to", "to_local", "to_digits", "body", "id", "callback", "sender"})
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
REPORT_STATUSES = frozenset({"queued", "sent", "delivered", "undelivered", "failed"})
MIN_SECRET = 16  # characters of SMS_HTTP_REPORT_SECRET
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_FIELD_PATH = re.compile(r"[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}")
DEFAULT_STATUS_MAP = (
    "DELIVRD:delivered,DELIVERED:delivered,UNDELIV:undelivered,UNDELIVERED:undelivered,"
    "EXPIRED:undelivered:temporary,REJECTD:failed:route,REJECTED:failed:route,FAILED:failed,"
    "ACCEPTD:sent,ACCEPTED:sent,ENROUTE:sent,SENT:sent,QUEUED:queued"
)


class HttpBody(StrEnum):
    """How the parameters travel: a form body, a JSON body, or the URL's query."""

    FORM = "form"
    JSON = "json"
    QUERY = "query"


@dataclass(frozen=True)
class StatusWord:
    """What one of the provider's status words means, in Twilio's words."""

    status: str  # queued, sent, delivered, undelivered or failed
    failure: FailureKind | None = None  # for undelivered/failed: what to try next


@dataclass(frozen=True)
class HttpGatewaySettings:
    """The `http_gateway` part of `core.settings.Settings` (None when http is not named)."""

    url: str  # SMS_HTTP_URL
    report_secret: str  # SMS_HTTP_REPORT_SECRET: authenticates reports and inbound SMS
    method: str = "POST"  # SMS_HTTP_METHOD
    body: HttpBody = HttpBody.FORM  # SMS_HTTP_BODY
    params: str = "to={to}&text={body}&from={sender}&ref={id}&dlr_url={callback}"
    sender: str = ""  # SMS_HTTP_SENDER: the sender id (an alphanumeric name in Lebanon)
    auth: tuple[str, ...] = ()  # SMS_HTTP_AUTH: ("basic", user, pass), ("bearer", t), ...
    id_field: str | None = None  # SMS_HTTP_ID_FIELD: dotted path to the id in the answer
    connect_timeout: float = 5.0  # SMS_HTTP_CONNECT_TIMEOUT, seconds
    read_timeout: float = 10.0  # SMS_HTTP_READ_TIMEOUT, seconds
    report_id_field: str = "id"  # SMS_HTTP_REPORT_ID_FIELD
    report_status_field: str = "status"  # SMS_HTTP_REPORT_STATUS_FIELD
    report_code_field: str = "error"  # SMS_HTTP_REPORT_CODE_FIELD
    status_map: Mapping[str, StatusWord] = field(  # SMS_HTTP_STATUS_MAP
        default_factory=lambda: status_map(DEFAULT_STATUS_MAP)
    )
    signature_header: str = "X-Signature"  # SMS_HTTP_SIGNATURE_HEADER: hex HMAC-SHA256
    secret_header: str = "X-Webhook-Secret"  # noqa: S105 - SMS_HTTP_SECRET_HEADER: a name
    inbound_from_field: str = "from"  # SMS_HTTP_INBOUND_FROM_FIELD
    inbound_text_field: str = "text"  # SMS_HTTP_INBOUND_TEXT_FIELD
    inbound_id_field: str = "id"  # SMS_HTTP_INBOUND_ID_FIELD

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HttpGatewaySettings:
        body = _choice("SMS_HTTP_BODY", env.get("SMS_HTTP_BODY"), HttpBody, HttpBody.FORM)
        method = (env.get("SMS_HTTP_METHOD") or "POST").strip().upper()
        if method not in ("GET", "POST"):
            raise SettingsError("SMS_HTTP_METHOD", f"{method!r} is not GET or POST")
        if method == "GET" and body is not HttpBody.QUERY:
            raise SettingsError("SMS_HTTP_BODY", "must be query when SMS_HTTP_METHOD is GET")
        return cls(
            url=_url(env.get("SMS_HTTP_URL")),
            report_secret=_secret(env.get("SMS_HTTP_REPORT_SECRET")),
            method=method,
            body=body,
            params=_params(env.get("SMS_HTTP_PARAMS") or cls.params, body),
            sender=(env.get("SMS_HTTP_SENDER") or "").strip()[:32],
            auth=_auth(env.get("SMS_HTTP_AUTH")),
            id_field=_path("SMS_HTTP_ID_FIELD", env.get("SMS_HTTP_ID_FIELD"), None),
            connect_timeout=_seconds("SMS_HTTP_CONNECT_TIMEOUT", env, 5),
            read_timeout=_seconds("SMS_HTTP_READ_TIMEOUT", env, 10),
            report_id_field=_field(env, "SMS_HTTP_REPORT_ID_FIELD", "id"),
            report_status_field=_field(env, "SMS_HTTP_REPORT_STATUS_FIELD", "status"),
            report_code_field=_field(env, "SMS_HTTP_REPORT_CODE_FIELD", "error"),
            status_map=status_map(env.get("SMS_HTTP_STATUS_MAP") or DEFAULT_STATUS_MAP),
            signature_header=_header(env, "SMS_HTTP_SIGNATURE_HEADER", "X-Signature"),
            secret_header=_header(env, "SMS_HTTP_SECRET_HEADER", "X-Webhook-Secret"),
            inbound_from_field=_field(env, "SMS_HTTP_INBOUND_FROM_FIELD", "from"),
            inbound_text_field=_field(env, "SMS_HTTP_INBOUND_TEXT_FIELD", "text"),
            inbound_id_field=_field(env, "SMS_HTTP_INBOUND_ID_FIELD", "id"),
        )


def http_gateway_settings(env: Mapping[str, str], named: bool) -> HttpGatewaySettings | None:
    """The aggregator's settings when `SMS_BACKEND` names http, else None (not even read)."""
    return HttpGatewaySettings.from_env(env) if named else None


def _url(value: str | None) -> str:
    if not value or not value.strip():
        raise SettingsError("SMS_HTTP_URL", "is required when SMS_BACKEND names http")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise SettingsError("SMS_HTTP_URL", "is not an http:// or https:// URL")
    return value.strip()


def _secret(value: str | None) -> str:
    if not value or len(value.strip()) < MIN_SECRET:
        reason = f"is required when SMS_BACKEND names http, at least {MIN_SECRET} characters"
        raise SettingsError("SMS_HTTP_REPORT_SECRET", reason)
    return value.strip()


def _choice(name: str, value: str | None, kind: type[HttpBody], default: HttpBody) -> HttpBody:
    if not value or not value.strip():
        return default
    try:
        return kind(value.strip().lower())
    except ValueError:
        raise SettingsError(name, f"{value!r} is not form, json or query") from None


def _params(template: str, body: HttpBody) -> str:
    """The template, checked: known placeholders only, a number and a text among them."""
    used = set(PLACEHOLDER.findall(template))
    if unknown := used - PLACEHOLDERS:
        names = ", ".join(sorted(f"{{{name}}}" for name in unknown))
        raise SettingsError("SMS_HTTP_PARAMS", f"unknown placeholder {names}")
    if "body" not in used or not used & {"to", "to_local", "to_digits"}:
        raise SettingsError(
            "SMS_HTTP_PARAMS", "must hold {body} and {to}, {to_local} or {to_digits}"
        )
    if body is HttpBody.JSON:
        try:
            parsed = json.loads(template)
        except ValueError:
            raise SettingsError(
                "SMS_HTTP_PARAMS", "is not a JSON object (SMS_HTTP_BODY=json)"
            ) from None
        if not isinstance(parsed, dict):
            raise SettingsError("SMS_HTTP_PARAMS", "is not a JSON object (SMS_HTTP_BODY=json)")
    elif not parse_qsl(template, keep_blank_values=True):
        raise SettingsError("SMS_HTTP_PARAMS", "is not name=value pairs joined by &")
    return template


def _auth(value: str | None) -> tuple[str, ...]:
    """`basic:user:pass`, `bearer:token` or `header:Name:value`; unset, none."""
    if not value or not value.strip():
        return ()
    kind, _, rest = value.strip().partition(":")
    kind = kind.lower()
    if kind == "basic" and ":" in rest and rest.split(":", 1)[0]:
        return ("basic", *rest.split(":", 1))
    if kind == "bearer" and rest:
        return ("bearer", rest)
    if kind == "header":
        name, _, secret = rest.partition(":")
        if _HEADER_NAME.fullmatch(name) and secret:
            return ("header", name, secret)
    # The value is a secret: the message never quotes it.
    raise SettingsError(
        "SMS_HTTP_AUTH", "is not basic:user:pass, bearer:token or header:Name:value"
    )


def _path(name: str, value: str | None, default: str | None) -> str | None:
    if not value or not value.strip():
        return default
    if not _FIELD_PATH.fullmatch(value.strip()):
        raise SettingsError(name, f"{value!r} is not a field name or a dotted path like data.id")
    return value.strip()


def _field(env: Mapping[str, str], name: str, default: str) -> str:
    return _path(name, env.get(name), default) or default


def _header(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip()
    if not _HEADER_NAME.fullmatch(value):
        raise SettingsError(name, f"{value!r} is not an HTTP header name")
    return value


def _seconds(name: str, env: Mapping[str, str], default: int) -> float:
    return float(max(1, small_int(name, env.get(name), default, 60)))


def status_map(value: str) -> Mapping[str, StatusWord]:
    """`SMS_HTTP_STATUS_MAP`: `WORD:status[:kind]` pairs, e.g. `REJECTD:failed:route`; the
    provider's words are matched without regard to case."""
    words: dict[str, StatusWord] = {}
    for part in value.split(","):
        pieces = [piece.strip() for piece in part.split(":")]
        if len(pieces) not in (2, 3) or not pieces[0]:
            raise SettingsError(
                "SMS_HTTP_STATUS_MAP", f"{part.strip()!r} is not WORD:status[:kind]"
            )
        status = pieces[1].lower()
        if status not in REPORT_STATUSES:
            reason = f"{pieces[1]!r} is not one of {', '.join(sorted(REPORT_STATUSES))}"
            raise SettingsError("SMS_HTTP_STATUS_MAP", reason)
        words[pieces[0].lower()] = StatusWord(
            status, _kind(pieces[2]) if len(pieces) == 3 else None
        )
    return MappingProxyType(words)


def _kind(value: str) -> FailureKind:
    try:
        return FailureKind(value.lower())
    except ValueError:
        kinds = ", ".join(kind.value for kind in FailureKind)
        raise SettingsError("SMS_HTTP_STATUS_MAP", f"{value!r} is not one of {kinds}") from None
