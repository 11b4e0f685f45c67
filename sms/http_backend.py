"""A local aggregator's HTTP API as a `Gateway`: one request per message, built from settings.

The request is `SMS_HTTP_PARAMS` with its placeholders filled in, sent as a form, a JSON body
or the URL's query (core/http_gateway_settings.py). Failures are sorted as Twilio's are: a
refusal for rate (429) is paused on; a 5xx, a lost answer or a read timeout may have left the
message with the provider (uncertain); nothing reached it (a refused connection, a connect
timeout) or our credentials were refused (401/403): later; any other 4xx: never.

Reconciling: an aggregator offers no search of what it accepted, so `find_sent` cannot know.
It answers None (nothing found) rather than refusing to answer, which would keep the message
claimed forever: the message is then sent again with the same client reference `{id}` (our
message id), and an aggregator that deduplicates by reference drops the copy. Configure the
reference in `SMS_HTTP_PARAMS` wherever the provider takes one; without it, a send whose
answer was lost may reach the family twice, never zero times.

Nothing personal goes to logs or exception texts: only our id, HTTP statuses and error kinds.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import requests
from urllib3.exceptions import ConnectTimeoutError

from core.http_gateway_settings import PLACEHOLDER, HttpBody, HttpGatewaySettings
from core.settings import Settings
from sms.gateway import (
    OutgoingSms,
    PermanentSendError,
    RateLimitedError,
    RetryableSendError,
    SendResult,
    UncertainSendError,
)

log = logging.getLogger(__name__)

NAME = "http"  # Message.gateway of what this backend took
RATE_LIMITED_RETRY = 30.0  # seconds, when a 429 does not say (Retry-After)
MAX_RETRY_AFTER = 600.0
MAX_ANSWER = 64 * 1024  # bytes of the provider's answer read for the id
STATUS_PATH = "/sms/http/status"


class HttpBackend:
    """A `Gateway` over an aggregator's HTTP API."""

    def __init__(
        self, config: HttpGatewaySettings, public_base_url: str, session: requests.Session
    ) -> None:
        self._config = config
        self._public = public_base_url
        self._session = session

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpBackend:
        if settings.http_gateway is None:
            raise ValueError("the HTTP backend needs the SMS_HTTP_* settings")
        session = requests.Session()
        session.headers["User-Agent"] = "1766-intake"
        return cls(settings.http_gateway, settings.public_base_url, session)

    def send(self, sms: OutgoingSms) -> SendResult:
        values = placeholders(sms, self._config.sender, self._public)
        try:
            answer = self._session.request(
                self._config.method,
                self._config.url,
                timeout=(self._config.connect_timeout, self._config.read_timeout),
                allow_redirects=False,
                stream=True,
                **request_parts(self._config, values),
            )
        except requests.RequestException as exc:
            raise _network_error(exc) from None
        with answer:
            _raise_for(answer)
            sid = self._provider_id(answer, sms.message_id)
        return SendResult(provider_sid=sid, status="queued", gateway=NAME)

    def _provider_id(self, answer: requests.Response, message_id: int) -> str:
        """The provider's id of the message, or our own when it names none (SMS_HTTP_ID_FIELD
        unset): its reports then carry the reference `{id}` we sent."""
        if self._config.id_field is None:
            return str(message_id)
        try:
            document = json.loads(answer.raw.read(MAX_ANSWER, decode_content=True) or b"null")
        except (ValueError, requests.RequestException, OSError):
            document = None
        found = dotted(document, self._config.id_field)
        if not isinstance(found, str | int) or isinstance(found, bool) or not str(found).strip():
            # 2xx yet no id: most aggregators answer a refusal this way (status "error").
            raise PermanentSendError("the provider's answer names no message id", "http-noid")
        return str(found).strip()[:64]

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """None: the provider cannot be asked (module docstring: resent with the same `{id}`)."""
        return None


def placeholders(sms: OutgoingSms, sender: str, public_base_url: str) -> dict[str, str]:
    """What each placeholder of SMS_HTTP_PARAMS stands for, for this message."""
    national = sms.to.removeprefix("+961") if sms.to.startswith("+961") else sms.to.lstrip("+")
    return {
        "to": sms.to,
        "to_digits": sms.to.lstrip("+"),
        "to_local": "0" + national if len(national) == 7 else national,
        "body": sms.body,
        "id": str(sms.message_id),
        "callback": f"{public_base_url}{STATUS_PATH}?m={sms.message_id}",
        "sender": sender,
    }


def fill(template: str, values: dict[str, str]) -> str:
    """Each `{name}` replaced by its value, in one pass (a value is never read again)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def request_parts(config: HttpGatewaySettings, values: dict[str, str]) -> dict[str, Any]:
    """The keyword arguments of `requests.request` for one message: parameters and headers."""
    headers: dict[str, str] = {"Accept": "application/json"}
    parts: dict[str, Any] = {"headers": headers}
    if config.body is HttpBody.JSON:
        parts["json"] = _filled_json(json.loads(config.params), values)
    else:
        pairs = [(name, fill(value, values)) for name, value in _pairs(config.params)]
        parts["params" if config.body is HttpBody.QUERY else "data"] = pairs
    kind, *rest = config.auth or ("",)
    if kind == "basic":
        parts["auth"] = (rest[0], rest[1])
    elif kind == "bearer":
        headers["Authorization"] = f"Bearer {rest[0]}"
    elif kind == "header":
        headers[rest[0]] = rest[1]
    return parts


def _pairs(template: str) -> list[tuple[str, str]]:
    return parse_qsl(template, keep_blank_values=True)


def _filled_json(node: Any, values: dict[str, str]) -> Any:
    """The JSON template with placeholders filled in every string (keys and values)."""
    if isinstance(node, str):
        return fill(node, values)
    if isinstance(node, list):
        return [_filled_json(item, values) for item in node]
    if isinstance(node, dict):
        return {fill(key, values): _filled_json(item, values) for key, item in node.items()}
    return node


def dotted(document: Any, path: str) -> Any:
    """The value at `path` (`data.id`, `messages.0.id`) in a JSON document, or None."""
    node = document
    for step in path.split("."):
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


def _raise_for(answer: requests.Response) -> None:
    """Our error for a refusal; its text holds the HTTP status only (the provider's may quote
    the number or the text)."""
    status = answer.status_code
    if 200 <= status < 300:
        return
    code = f"http{status}"
    text = f"the provider refused the message: HTTP {status}"
    if status == 429:
        raise RateLimitedError(text, code, _retry_after(answer.headers.get("Retry-After")))
    if status >= 500 or status == 408:
        raise UncertainSendError(text, code)  # it may have taken the message before failing
    if status in (401, 403) or 300 <= status < 400:
        raise RetryableSendError(text, code)  # our credentials or URL: once an operator fixed it
    raise PermanentSendError(text, code)


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value or RATE_LIMITED_RETRY)
    except ValueError:
        return RATE_LIMITED_RETRY
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def _network_error(exc: requests.RequestException) -> RetryableSendError:
    """Uncertain when the request may have reached the provider, else a plain retry; the
    exception's own text is not kept (it holds the URL, whose query may carry the number)."""
    text = f"the provider could not be reached: {type(exc).__name__}"
    return UncertainSendError(text) if _may_have_arrived(exc) else RetryableSendError(text)


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """False for a connect timeout, a refused or unresolvable connection: not one byte left."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one, too
