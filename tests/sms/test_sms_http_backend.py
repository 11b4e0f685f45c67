"""The aggregator's HTTP backend against the fake aggregator on loopback: the request each
SMS_HTTP_* setting makes (form, JSON, query; basic, bearer, header), how every failure is
sorted for the outbox, that nothing personal reaches a log or an error, and the settings'
checks, each naming the setting."""

from __future__ import annotations

import base64
import json
import logging
import socket

import pytest
import requests

from core.delivery_codes import FailureKind
from core.http_gateway_settings import HttpGatewaySettings, StatusWord
from core.settings import Settings, SettingsError, SmsBackend
from sms.gateway import (
    OutgoingSms,
    PermanentSendError,
    RateLimitedError,
    RetryableSendError,
    SendError,
    UncertainSendError,
)
from sms.http_backend import HttpBackend
from tests.plugins.fake_aggregator import FakeAggregator, aggregator_env, aggregator_settings

PUBLIC = "https://intake.test"
NUMBER = "+9613123456"
TEXT = "1766: تم استلام طلبكم ✅"
SMS = OutgoingSms(42, NUMBER, TEXT, None)


def backend(fake: FakeAggregator, **env: str) -> HttpBackend:
    return HttpBackend(aggregator_settings(fake, **env), PUBLIC, requests.Session())


def test_a_form_post_carries_every_placeholder_and_the_answer_names_the_message(
    fake_aggregator: FakeAggregator,
) -> None:
    result = backend(fake_aggregator).send(SMS)

    (sent,) = fake_aggregator.requests
    assert sent.method == "POST"
    assert sent.content_type.startswith("application/x-www-form-urlencoded")
    assert sent.params == {
        "to": NUMBER,
        "text": TEXT,
        "from": "MoSA-1766",
        "ref": "42",
        "dlr_url": f"{PUBLIC}/sms/http/status?m=42",
    }
    assert result.provider_sid == fake_aggregator.messages[0]["id"]
    assert result.gateway == "http"
    assert sent.headers["Authorization"] == "Bearer fake-aggregator-token"


def test_a_json_body_is_the_template_with_its_placeholders_filled_in(
    fake_aggregator: FakeAggregator,
) -> None:
    template = json.dumps(
        {
            "to": "{to_local}",
            "msisdn": "{to_digits}",
            "text": "{body}",
            "options": {"ref": "{id}", "report": "{callback}", "unicode": True},
        }
    )
    backend(fake_aggregator, SMS_HTTP_BODY="json", SMS_HTTP_PARAMS=template).send(SMS)

    (sent,) = fake_aggregator.requests
    assert sent.content_type == "application/json"
    assert sent.params == {
        "to": "03123456",
        "msisdn": "9613123456",
        "text": TEXT,
        "options": {"ref": "42", "report": f"{PUBLIC}/sms/http/status?m=42", "unicode": True},
    }


def test_a_text_holding_braces_and_ampersands_goes_as_written(
    fake_aggregator: FakeAggregator,
) -> None:
    body = "{to} & text={id} %41 ؟"
    backend(fake_aggregator).send(OutgoingSms(7, "+96171234567", body, None))

    assert fake_aggregator.messages[0]["text"] == body
    assert fake_aggregator.messages[0]["to"] == "+96171234567"


def test_a_get_with_the_parameters_in_the_query_and_basic_authentication(
    fake_aggregator: FakeAggregator,
) -> None:
    backend(
        fake_aggregator,
        SMS_HTTP_METHOD="GET",
        SMS_HTTP_BODY="query",
        SMS_HTTP_PARAMS="to={to_local}&text={body}&user=mosa",
        SMS_HTTP_AUTH="basic:mosa:pa:ss",
    ).send(SMS)

    (sent,) = fake_aggregator.requests
    assert sent.method == "GET"
    assert sent.query == {"to": "03123456", "text": TEXT, "user": "mosa"}
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"mosa:pa:ss").decode()


def test_a_header_of_the_providers_choice_carries_its_key(fake_aggregator: FakeAggregator) -> None:
    backend(fake_aggregator, SMS_HTTP_AUTH="header:X-Api-Key:k3y").send(SMS)

    assert fake_aggregator.requests[0].headers["X-Api-Key"] == "k3y"
    assert "Authorization" not in fake_aggregator.requests[0].headers


def test_without_an_id_field_our_own_id_names_the_message(fake_aggregator: FakeAggregator) -> None:
    config = HttpGatewaySettings.from_env(
        {k: v for k, v in aggregator_env(fake_aggregator).items() if k != "SMS_HTTP_ID_FIELD"}
    )

    result = HttpBackend(config, PUBLIC, requests.Session()).send(SMS)

    assert result.provider_sid == "42"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, PermanentSendError),
        (404, PermanentSendError),
        (422, PermanentSendError),
        (401, RetryableSendError),
        (403, RetryableSendError),
        (429, RateLimitedError),
        (500, UncertainSendError),
        (502, UncertainSendError),
        (503, UncertainSendError),
    ],
)
def test_each_refusal_is_sorted_for_the_outbox_without_the_number_or_the_text(
    fake_aggregator: FakeAggregator, status: int, error: type[SendError]
) -> None:
    fake_aggregator.fail_next(1, status)

    with pytest.raises(error) as raised:
        backend(fake_aggregator).send(SMS)

    assert type(raised.value) is error
    assert raised.value.code == f"http{status}"
    assert NUMBER not in str(raised.value) and "3123456" not in str(raised.value)
    assert TEXT not in str(raised.value)


def test_a_refused_number_fails_for_good(fake_aggregator: FakeAggregator) -> None:
    fake_aggregator.refuse(NUMBER, 400)

    with pytest.raises(PermanentSendError):
        backend(fake_aggregator).send(SMS)
    assert fake_aggregator.messages == []


def test_an_answer_without_an_id_is_a_refusal(fake_aggregator: FakeAggregator) -> None:
    with pytest.raises(PermanentSendError) as raised:
        backend(fake_aggregator, SMS_HTTP_ID_FIELD="data.message_id").send(SMS)

    assert raised.value.code == "http-noid"


def test_a_provider_that_cannot_be_reached_never_had_the_message() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    config = HttpGatewaySettings.from_env(
        {"SMS_HTTP_URL": f"http://127.0.0.1:{port}/send", "SMS_HTTP_REPORT_SECRET": "s" * 20}
    )

    with pytest.raises(RetryableSendError) as raised:
        HttpBackend(config, PUBLIC, requests.Session()).send(SMS)

    assert not isinstance(raised.value, UncertainSendError)


def test_a_lost_answer_may_have_left_the_message_with_the_provider() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection, never answers
        port = silent.getsockname()[1]
        config = HttpGatewaySettings.from_env(
            {
                "SMS_HTTP_URL": f"http://127.0.0.1:{port}/send",
                "SMS_HTTP_REPORT_SECRET": "s" * 20,
                "SMS_HTTP_READ_TIMEOUT": "1",
            }
        )
        with pytest.raises(UncertainSendError):
            HttpBackend(config, PUBLIC, requests.Session()).send(SMS)


def test_nothing_personal_is_logged(
    fake_aggregator: FakeAggregator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend(fake_aggregator).send(SMS)
    fake_aggregator.fail_next(1, 500)
    with pytest.raises(UncertainSendError):
        backend(fake_aggregator).send(SMS)

    assert "3123456" not in caplog.text
    assert TEXT not in caplog.text


def test_the_provider_cannot_be_asked_so_find_sent_finds_nothing(
    fake_aggregator: FakeAggregator,
) -> None:
    from datetime import UTC, datetime

    gateway = backend(fake_aggregator)
    gateway.send(SMS)

    assert gateway.find_sent(NUMBER, TEXT, datetime(2026, 1, 1, tzinfo=UTC)) is None


# -- settings -----------------------------------------------------------------------------

BASE = {
    "INTAKE_ENV": "test",
    "DATABASE_URL": "sqlite:///var/test.sqlite3",
    "SECRET_KEY": "k" * 40,
    "PUBLIC_BASE_URL": PUBLIC,
    "SMS_BACKEND": "http",
    "SMS_HTTP_URL": "https://sms.example.lb/api/send",
    "SMS_HTTP_REPORT_SECRET": "r" * 32,
}


def test_settings_read_every_part_of_the_aggregator() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "SMS_HTTP_METHOD": "post",
            "SMS_HTTP_BODY": "JSON",
            "SMS_HTTP_PARAMS": '{"dest": "{to_digits}", "msg": "{body}"}',
            "SMS_HTTP_ID_FIELD": "data.0.id",
            "SMS_HTTP_REPORT_ID_FIELD": "msgid",
            "SMS_HTTP_REPORT_STATUS_FIELD": "dlr.state",
            "SMS_HTTP_REPORT_CODE_FIELD": "dlr.err",
            "SMS_HTTP_STATUS_MAP": "DELIVRD:delivered,REJECTD:failed:route",
            "SMS_HTTP_INBOUND_FROM_FIELD": "msisdn",
            "SMS_HTTP_INBOUND_TEXT_FIELD": "message",
            "SMS_HTTP_INBOUND_ID_FIELD": "mo_id",
        }
    )

    http = settings.http_gateway
    assert settings.sms_backend is SmsBackend.HTTP
    assert http is not None
    assert (http.method, http.body.value, http.id_field) == ("POST", "json", "data.0.id")
    assert http.status_map["rejectd"] == StatusWord("failed", FailureKind.ROUTE)
    assert http.status_map["delivrd"] == StatusWord("delivered")
    assert (http.report_status_field, http.inbound_from_field) == ("dlr.state", "msisdn")


def test_without_http_in_sms_backend_its_settings_are_not_read() -> None:
    settings = Settings.from_env({**BASE, "SMS_BACKEND": "console", "SMS_HTTP_URL": "nonsense"})

    assert settings.http_gateway is None


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"SMS_HTTP_URL": ""}, "SMS_HTTP_URL"),
        ({"SMS_HTTP_URL": "ftp://sms.example.lb/"}, "SMS_HTTP_URL"),
        ({"SMS_HTTP_REPORT_SECRET": ""}, "SMS_HTTP_REPORT_SECRET"),
        ({"SMS_HTTP_REPORT_SECRET": "short"}, "SMS_HTTP_REPORT_SECRET"),
        ({"SMS_HTTP_METHOD": "PUT"}, "SMS_HTTP_METHOD"),
        ({"SMS_HTTP_BODY": "xml"}, "SMS_HTTP_BODY"),
        ({"SMS_HTTP_METHOD": "GET", "SMS_HTTP_BODY": "form"}, "SMS_HTTP_BODY"),
        ({"SMS_HTTP_PARAMS": "to={to}&text={message}"}, "SMS_HTTP_PARAMS"),
        ({"SMS_HTTP_PARAMS": "text={body}"}, "SMS_HTTP_PARAMS"),
        ({"SMS_HTTP_BODY": "json", "SMS_HTTP_PARAMS": "to={to}&t={body}"}, "SMS_HTTP_PARAMS"),
        ({"SMS_HTTP_BODY": "json", "SMS_HTTP_PARAMS": '["{to}", "{body}"]'}, "SMS_HTTP_PARAMS"),
        ({"SMS_HTTP_AUTH": "digest:a:b"}, "SMS_HTTP_AUTH"),
        ({"SMS_HTTP_AUTH": "basic:nopassword"}, "SMS_HTTP_AUTH"),
        ({"SMS_HTTP_AUTH": "header:Bad Name:x"}, "SMS_HTTP_AUTH"),
        ({"SMS_HTTP_ID_FIELD": "data[0].id"}, "SMS_HTTP_ID_FIELD"),
        ({"SMS_HTTP_REPORT_STATUS_FIELD": "a b"}, "SMS_HTTP_REPORT_STATUS_FIELD"),
        ({"SMS_HTTP_STATUS_MAP": "DELIVRD"}, "SMS_HTTP_STATUS_MAP"),
        ({"SMS_HTTP_STATUS_MAP": "DELIVRD:arrived"}, "SMS_HTTP_STATUS_MAP"),
        ({"SMS_HTTP_STATUS_MAP": "REJECTD:failed:elsewhere"}, "SMS_HTTP_STATUS_MAP"),
        ({"SMS_HTTP_READ_TIMEOUT": "ten"}, "SMS_HTTP_READ_TIMEOUT"),
        ({"SMS_HTTP_SIGNATURE_HEADER": "X Sig"}, "SMS_HTTP_SIGNATURE_HEADER"),
        (
            {
                "SMS_BACKEND": "twilio,http",
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM_NUMBER": "+15005550006",
                "SMS_HTTP_URL": "",
            },
            "SMS_HTTP_URL",
        ),
    ],
)
def test_a_bad_setting_is_refused_by_name(overrides: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**BASE, **overrides})

    assert raised.value.name == name


def test_a_refused_authentication_setting_does_not_quote_its_secret() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**BASE, "SMS_HTTP_AUTH": "digest:user:hunter2secret"})

    assert "hunter2secret" not in str(raised.value)
