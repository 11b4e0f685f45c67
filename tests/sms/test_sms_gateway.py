"""The SMS gateways: the real `twilio` library against the fake Twilio server, and the console."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from core.settings import Settings, SmsBackend
from sms.console_backend import ConsoleBackend
from sms.gateway import (
    OutgoingSms,
    PermanentSendError,
    RetryableSendError,
    UncertainSendError,
    status_callback_url,
)
from sms.gateway_choice import make_gateway
from sms.twilio_backend import Failure, TwilioBackend, classify
from tests.conftest import settings_for
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

FROM = "+15005550006"
CITIZEN = "+9613123456"
BODY = "تم استلام طلبك. رقم المرجع 123456."
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def twilio_settings(fake: FakeTwilio, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "sms_backend": SmsBackend.TWILIO,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM,
        "twilio_api_base_url": fake.url,
    }
    values.update(overrides)
    return settings_for("sqlite://", **values)


def backend_for(fake: FakeTwilio, timeout: float = 10.0, **overrides: object) -> TwilioBackend:
    return TwilioBackend.from_settings(
        twilio_settings(fake, **overrides), delays=(0, 0), timeout=timeout
    )


def outgoing(message_id: int = 7, body: str = BODY, to: str = CITIZEN) -> OutgoingSms:
    return OutgoingSms(
        message_id, to, body, status_callback=f"https://intake.test/sms/status?m={message_id}"
    )


def test_send_hands_the_message_to_twilio(fake_twilio: FakeTwilio) -> None:
    result = backend_for(fake_twilio).send(outgoing())

    assert result.status == "queued"
    assert result.provider_sid.startswith("SM") and len(result.provider_sid) == 34
    [seen] = fake_twilio.messages
    assert seen["sid"] == result.provider_sid
    assert (seen["to"], seen["from"], seen["body"]) == (CITIZEN, FROM, BODY)
    assert seen["status_callback"] == "https://intake.test/sms/status?m=7"
    assert seen["messaging_service_sid"] is None


def test_a_messaging_service_replaces_the_from_number(fake_twilio: FakeTwilio) -> None:
    service = "MG" + "1" * 32
    backend = backend_for(fake_twilio, twilio_messaging_service_sid=service)

    assert backend.send(outgoing()).status == "accepted"
    [seen] = fake_twilio.messages
    assert (seen["messaging_service_sid"], seen["from"]) == (service, None)


def test_the_base_url_override_is_what_the_library_calls(
    fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An edge or region in the environment would rewrite the host of every URL.
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    backend_for(fake_twilio).send(outgoing())

    assert fake_twilio.requests == [("POST", MESSAGES_PATH)]


def test_rate_limited_twice_then_accepted_sends_once(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(2, status=429, code=20429)

    result = backend_for(fake_twilio).send(outgoing())

    assert fake_twilio.create_attempts() == 3
    assert [m["sid"] for m in fake_twilio.messages] == [result.provider_sid]


def test_a_twilio_that_keeps_failing_is_retryable_after_the_configured_attempts(
    fake_twilio: FakeTwilio,
) -> None:
    fake_twilio.fail_next(5, status=500, code=20500)

    with pytest.raises(RetryableSendError) as caught:
        backend_for(fake_twilio).send(outgoing())

    assert caught.value.code == "20500"
    assert not isinstance(caught.value, UncertainSendError)  # each 500 was checked: not taken
    assert fake_twilio.create_attempts() == 3
    assert fake_twilio.messages == []


@pytest.mark.parametrize(
    ("status", "code"), [(429, 20429), (400, 21611), (400, 30001), (503, 20503)]
)
def test_transient_refusals_are_retryable(fake_twilio: FakeTwilio, status: int, code: int) -> None:
    fake_twilio.fail_next(3, status=status, code=code)

    with pytest.raises(RetryableSendError) as caught:
        backend_for(fake_twilio).send(outgoing())

    assert caught.value.code == str(code)
    assert fake_twilio.create_attempts() == 3


@pytest.mark.parametrize("code", [21211, 21408, 21610, 21614, 30003, 30005, 30006])
def test_refusals_about_the_recipient_are_permanent_and_not_retried(
    fake_twilio: FakeTwilio, code: int
) -> None:
    fake_twilio.fail_next(1, status=400, code=code)

    with pytest.raises(PermanentSendError) as caught:
        backend_for(fake_twilio).send(outgoing())

    assert caught.value.code == str(code)
    assert fake_twilio.create_attempts() == 1
    assert CITIZEN not in str(caught.value)  # Twilio's own text quotes the number
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_wrong_credentials_are_retryable_later_without_hammering(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(RetryableSendError) as caught:
        backend_for(fake_twilio, twilio_auth_token="not-the-token").send(outgoing())

    assert caught.value.code == "20003"
    assert fake_twilio.create_attempts() == 1


def test_connection_refused_is_retryable(fake_twilio: FakeTwilio) -> None:
    backend = backend_for(fake_twilio)
    fake_twilio.stop()

    with pytest.raises(RetryableSendError) as caught:
        backend.send(outgoing())

    assert not isinstance(caught.value, UncertainSendError)  # nothing reached Twilio
    assert caught.value.code is None


def test_a_timeout_after_twilio_took_the_message_does_not_send_it_twice(
    fake_twilio: FakeTwilio,
) -> None:
    fake_twilio.delay_next(30)  # the answer never comes in time; stop() cuts the wait

    result = backend_for(fake_twilio, timeout=1.0).send(outgoing())

    [seen] = fake_twilio.messages
    assert result.provider_sid == seen["sid"]
    assert fake_twilio.create_attempts() == 1


def test_an_ambiguous_failure_that_cannot_be_checked_is_uncertain(
    fake_twilio: FakeTwilio,
) -> None:
    fake_twilio.fail_next(1, status=500, code=20500)
    fake_twilio.fail_next(1, status=500, code=20500, method="GET")

    with pytest.raises(UncertainSendError):
        backend_for(fake_twilio).send(outgoing())

    assert fake_twilio.create_attempts() == 1  # never resent blind


def test_find_sent_matches_number_body_and_time(fake_twilio: FakeTwilio) -> None:
    backend = backend_for(fake_twilio)
    since = datetime.now(UTC)
    sid = backend.send(outgoing(body=BODY)).provider_sid
    backend.send(outgoing(message_id=8, body="another message"))

    assert backend.find_sent(CITIZEN, BODY, since) == sid
    assert backend.find_sent(CITIZEN, BODY + ".", since) is None
    assert backend.find_sent("+9613999999", BODY, since) is None
    assert backend.find_sent(CITIZEN, BODY, since + timedelta(minutes=5)) is None


def test_find_sent_sees_a_message_twilio_has_not_sent_yet(fake_twilio: FakeTwilio) -> None:
    """Queued messages have no date_sent, so Twilio's DateSent> filter would hide them."""
    backend = backend_for(fake_twilio)
    since = datetime.now(UTC)
    sid = backend.send(outgoing()).provider_sid

    filtered = backend._client.messages.list(to=CITIZEN, date_sent_after=since - timedelta(1))
    assert filtered == []
    assert backend.find_sent(CITIZEN, BODY, since) == sid


def test_find_sent_never_guesses_when_twilio_cannot_be_asked(fake_twilio: FakeTwilio) -> None:
    backend = backend_for(fake_twilio)
    fake_twilio.fail_next(1, status=500, code=20500, method="GET")
    with pytest.raises(RetryableSendError):
        backend.find_sent(CITIZEN, BODY, datetime.now(UTC))

    fake_twilio.stop()
    with pytest.raises(RetryableSendError) as caught:
        backend.find_sent(CITIZEN, BODY, datetime.now(UTC))
    assert CITIZEN not in str(caught.value)  # the failed URL carried To= in its query


def test_find_sent_refuses_a_naive_time(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(ValueError, match="aware"):
        backend_for(fake_twilio).find_sent(CITIZEN, BODY, datetime.now())


def test_nothing_personal_is_logged(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    backend = backend_for(fake_twilio)
    fake_twilio.fail_next(1, status=429, code=20429)

    backend.send(outgoing())
    backend.find_sent(CITIZEN, BODY, datetime.now(UTC))

    assert caplog.records  # the retry was logged …
    assert "3123456" not in caplog.text and "123456." not in caplog.text  # … without the number


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, "20429", Failure.TRANSIENT),
        (500, None, Failure.TRANSIENT),
        (400, "21611", Failure.TRANSIENT),
        (401, "20003", Failure.SERVICE),
        (400, "21212", Failure.SERVICE),
        (400, "21211", Failure.RECIPIENT),
        (400, "21610", Failure.RECIPIENT),
        (400, None, Failure.RECIPIENT),
    ],
)
def test_classify(status: int, code: str | None, expected: Failure) -> None:
    assert classify(status, code) is expected


def test_the_console_backend_prints_and_invents_a_sid(capsys: pytest.CaptureFixture[str]) -> None:
    backend = ConsoleBackend()

    result = backend.send(outgoing(message_id=42))

    assert capsys.readouterr().out == f"SMS to {CITIZEN}: {BODY}\n"
    assert result.provider_sid == "CONSOLE-42"
    assert backend.find_sent(CITIZEN, BODY, datetime.now(UTC)) is None


def test_make_gateway_follows_the_settings(fake_twilio: FakeTwilio) -> None:
    assert isinstance(make_gateway(settings_for("sqlite://")), ConsoleBackend)
    assert isinstance(make_gateway(twilio_settings(fake_twilio)), TwilioBackend)


def test_status_callback_url_carries_our_id() -> None:
    url = status_callback_url(settings_for("sqlite://"), 12)
    assert url == "https://intake.test/sms/status?m=12"
