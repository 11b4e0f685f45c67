"""Settings: each bad value stops start-up with one line naming the setting and why."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from core import audit_key
from core.settings import Environment, Settings, SettingsError, SmsBackend
from distribution.voucher_keys import write_new_key

ROOT = Path(__file__).resolve().parents[2]
# A signing key made for these tests (production requires one); never a key of the service.
_KEYS = Path(tempfile.mkdtemp(prefix="intake-settings-"))
write_new_key(_KEYS / "voucher-signing-key.pem")
audit_key.write_new_key(_KEYS / "audit-key")
GOOD = {
    "INTAKE_ENV": "production",
    "DATABASE_URL": "postgresql://intake@db.internal/intake",
    "SECRET_KEY": "k" * 40,
    "PUBLIC_BASE_URL": "https://1766.example.gov.lb",
    "SMS_BACKEND": "console",
    "VOUCHER_SIGNING_KEY_FILE": str(_KEYS / "voucher-signing-key.pem"),
    "AUDIT_KEY_FILE": str(_KEYS / "audit-key"),
}


def with_(**changes: str | None) -> dict[str, str]:
    env = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_good_production_settings_are_read() -> None:
    settings = Settings.from_env(GOOD)
    assert settings.environment is Environment.PRODUCTION
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.redis_url is None
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("changes", "setting", "words"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL", "not a database URL"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL", "not supported"),
        ({"DATABASE_URL": "postgresql://u@h"}, "DATABASE_URL", "names no database"),
        ({"SECRET_KEY": None}, "SECRET_KEY", "required outside development"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY", "shorter than 32"),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL", "required"),
        ({"VOUCHER_SIGNING_KEY_FILE": None}, "VOUCHER_SIGNING_KEY_FILE", "required in production"),
        ({"AUDIT_KEY_FILE": None}, "AUDIT_KEY_FILE", "required in production"),
        ({"AUDIT_KEY_FILE": "/nonexistent/audit-key"}, "AUDIT_KEY_FILE", "cannot be read"),
        ({"PUBLIC_BASE_URL": "1766.gov.lb"}, "PUBLIC_BASE_URL", "not an http(s) URL"),
        ({"PUBLIC_BASE_URL": "https://h:99999"}, "PUBLIC_BASE_URL", "malformed port"),
        ({"PUBLIC_BASE_URL": "https://h/?x=1"}, "PUBLIC_BASE_URL", "query"),
        ({"PUBLIC_BASE_URL": "http://1766.gov.lb"}, "PUBLIC_BASE_URL", "https"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL", "redis://"),
        ({"INTAKE_ENV": "staging"}, "INTAKE_ENV", "not one of"),
        ({"SMS_BACKEND": "pigeon"}, "SMS_BACKEND", "twilio, http or console"),
        ({"SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID", "required"),
        ({"PROXY_HOPS": "two"}, "PROXY_HOPS", "whole number"),
        ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL", "http(s)"),
    ],
)
def test_bad_setting_is_named_with_its_reason(changes: dict, setting: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(with_(**changes))
    assert caught.value.name == setting
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"setting {setting}: ")


def test_twilio_backend_needs_a_sender() -> None:
    env = with_(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t")
    with pytest.raises(SettingsError, match="TWILIO_MESSAGING_SERVICE_SID"):
        Settings.from_env(env)
    env["TWILIO_FROM_NUMBER"] = "+15005550006"
    assert Settings.from_env(env).sms_backend is SmsBackend.TWILIO


@pytest.mark.parametrize(("value", "expected"), [("+9611766000", "+9611766000"), ("", None)])
def test_voice_number_is_optional(value: str, expected: str | None) -> None:
    """Agents' phones ring from TWILIO_VOICE_NUMBER; unset or empty, the dialer uses the SMS one."""
    env = with_(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t")
    env |= {"TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_VOICE_NUMBER": value}
    assert Settings.from_env(env).twilio_voice_number == expected
    assert Settings.from_env(with_()).twilio_voice_number is None


def test_production_defaults_to_twilio_for_sms() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(with_(SMS_BACKEND=None))
    assert caught.value.name == "TWILIO_ACCOUNT_SID"


def test_development_runs_on_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"INTAKE_ENV": "development"})
    assert settings.database_url == "sqlite:///var/intake.sqlite3"
    assert settings.sms_backend is SmsBackend.CONSOLE
    assert settings.redis_url is None
    assert not settings.secure_cookies
    # The generated key survives a restart, so sign-ins do too.
    assert Settings.from_env({"INTAKE_ENV": "development"}).secret_key == settings.secret_key
    assert (tmp_path / "var" / "development-secret-key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"SECRET_KEY": None}, "setting SECRET_KEY: is required outside development"),
        ({"DATABASE_URL": "oracle://x/y"}, "setting DATABASE_URL: 'oracle' is not supported"),
        ({"PUBLIC_BASE_URL": "nonsense"}, "setting PUBLIC_BASE_URL: 'nonsense' is not an http"),
    ],
)
def test_the_process_stops_with_one_clear_line(changes: dict, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update(with_(**changes))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("1766 Intake cannot start: " + expected), result.stderr
    assert "Traceback" not in result.stderr


PRODUCTION = with_(
    TWILIO_ACCOUNT_SID="AC" + "0" * 32,
    TWILIO_AUTH_TOKEN="t" * 32,
    TWILIO_FROM_NUMBER="+15005550006",
)


def test_sms_backend_may_name_a_primary_and_a_fallback() -> None:
    env = {**PRODUCTION, "SMS_BACKEND": "twilio, console"}
    settings = Settings.from_env(env)
    assert (settings.sms_backend, settings.messaging.sms_fallback) == (
        SmsBackend.TWILIO,
        SmsBackend.CONSOLE,
    )
    assert Settings.from_env({**PRODUCTION, "SMS_BACKEND": "twilio"}).messaging.sms_fallback is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("twilio,twilio", "must differ"),
        ("twilio,http,console", "at most two"),
        ("twilio,pigeon", "twilio, http or console"),
    ],
)
def test_a_bad_pair_of_backends_is_named(value: str, reason: str) -> None:
    with pytest.raises(SettingsError, match=reason):
        Settings.from_env({**PRODUCTION, "SMS_BACKEND": value})


def test_the_retry_schedule_is_read_as_waits() -> None:
    settings = Settings.from_env({**PRODUCTION, "SMS_RETRY_SCHEDULE": "30s, 2m,1h,1d"})
    assert settings.messaging.retry_schedule == (
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(hours=1),
        timedelta(days=1),
    )
    default = Settings.from_env(PRODUCTION).messaging.retry_schedule
    assert default == (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=4),
    )
    assert (
        Settings.from_env({**PRODUCTION, "SMS_RETRY_SCHEDULE": "none"}).messaging.retry_schedule
        == ()
    )
    with pytest.raises(SettingsError, match="SMS_RETRY_SCHEDULE"):
        Settings.from_env({**PRODUCTION, "SMS_RETRY_SCHEDULE": "5 minutes"})


def test_retention_periods_are_days_with_defaults() -> None:
    messaging = Settings.from_env({**PRODUCTION, "DRAFT_RETENTION_DAYS": "10"}).messaging
    assert (messaging.draft_retention_days, messaging.message_body_retention_days) == (10, 90)
    with pytest.raises(SettingsError, match="RECORDING_RETENTION_DAYS"):
        Settings.from_env({**PRODUCTION, "RECORDING_RETENTION_DAYS": "forever"})
