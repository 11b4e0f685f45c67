"""The service's settings, read once from the environment and validated before anything starts.

A bad value stops the process with one line naming the setting and the reason
(`SettingsError`), so an operator never meets a half-started service.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.audit_key import InvalidAuditKey, read_key
from core.ed25519_keys import InvalidKey, load_private_key
from core.http_gateway_settings import HttpGatewaySettings, http_gateway_settings
from core.messaging_settings import MessagingSettings, sms_backends
from core.messaging_settings import SmsBackend as SmsBackend
from core.setting_errors import SettingsError as SettingsError
from core.setting_errors import small_int as _small_int
from core.tickets import DEFAULT_DEADLINES, Deadline, TicketCategory, parse_deadlines


class Environment(StrEnum):
    """Where the service runs; only `development` relaxes anything."""

    DEVELOPMENT = "development"  # a laptop: console SMS, generated secret, plain-HTTP cookies
    TEST = "test"  # the test suite: like production, but settings are passed in
    PRODUCTION = "production"  # the default: every secret must be given


DEFAULT_DATABASE_URL = "sqlite:///var/intake.sqlite3"
SUPPORTED_DATABASES = ("sqlite", "postgresql")
MIN_SECRET_LENGTH = 32
# Requests a web process works on at once, per entry, before it answers busy (see Settings).
IN_FLIGHT_IVR = 8  # a step is a few ms: 8 at once still answers within Twilio's patience
IN_FLIGHT_FORM = 4  # a final page is ~9 ms of CPU: 4 keep the cores busy through store waits
IN_FLIGHT_CONSOLE = 3  # staff are few; a dashboard is slow and must not crowd out citizens
DEFAULT_SEGMENT_PRICE = Decimal("0.15")  # USD a segment (SMS_SEGMENT_PRICE_USD)


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings; build with `Settings.from_env`."""

    environment: Environment
    database_url: str
    secret_key: str
    public_base_url: str
    redis_url: str | None = None
    sms_backend: SmsBackend = SmsBackend.CONSOLE
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    # The number that rings agents' phones for "take next call"; unset, the from-number does.
    twilio_voice_number: str | None = None
    twilio_api_base_url: str | None = None
    proxy_hops: int = 0  # how many reverse proxies stand before the app (X-Forwarded-For)
    link_ttl_days: int = 7  # a form link lives this long, or until the window closes
    # The complaint room's opening hours, Beirut time, [opens, closes): outside them the IVR
    # offers a recorded complaint instead of the agents' queue.
    complaint_room_hours: tuple[time, time] = (time(8, 0), time(17, 0))
    # How long the room has to answer each category of complaint (TICKET_DEADLINES).
    ticket_deadlines: Mapping[TicketCategory, Deadline] = field(
        default_factory=lambda: dict(DEFAULT_DEADLINES)
    )
    # The Ed25519 key vouchers are signed with (PKCS8 PEM, from a secret store); unset, one is
    # generated in var/ on first use, which is for a laptop only (distribution/voucher_keys.py).
    voucher_signing_key_file: str | None = None
    # The secret the audit chain is keyed with (AUDIT_KEY_FILE, at least 32 random bytes, from
    # a secret store); unset, one is generated in var/ on first use (core/audit_key.py).
    audit_key_file: str | None = None
    # The PMT formula file the worker scores with (SCORING_FORMULA); unset, the shipped one,
    # whose weights are illustrative.
    scoring_formula: str | None = None
    # Launch day (issue 15). Inbound SMS the Redis Stream may hold before the webhook answers
    # 503 (SMS_BUFFER_MAX); SMS per second handed to the provider from each sender, shared by
    # every worker (SMS_MAX_PER_SECOND: Twilio's rate for the sender); requests each web
    # process works on at once per entry before it answers busy (MAX_IN_FLIGHT_IVR, _FORM,
    # _CONSOLE; 0 means no limit). The defaults fit the Procfile's 16 threads a process: their
    # sum (15) leaves a thread to answer busy, and equals a process's store connections (the
    # pool's 5 + 10 overflow), so an admitted request never waits for one (web/overload.py).
    sms_buffer_max: int = 200_000
    # A request the load balancer stamped (X-Request-Start) more than this many seconds ago is
    # answered busy at once: its caller has given up or is about to (MAX_QUEUE_SECONDS; 0 off).
    max_queue_seconds: int = 5
    sms_max_per_second: int = 100
    max_in_flight_ivr: int = IN_FLIGHT_IVR
    max_in_flight_form: int = IN_FLIGHT_FORM
    max_in_flight_console: int = IN_FLIGHT_CONSOLE
    # A bearer token /metrics asks for (METRICS_TOKEN); unset, /metrics answers anyone who
    # reaches it (it holds counts and queue depths, no personal data): keep it internal.
    metrics_token: str | None = None
    # What the provider bills one SMS segment to a Lebanese mobile, in US dollars
    # (SMS_SEGMENT_PRICE_USD): the cost an information SMS shows before it is sent. The default
    # is about Twilio's list price to Lebanon; set the contract's price.
    sms_segment_price_usd: Decimal = DEFAULT_SEGMENT_PRICE
    # The fallback provider, retries and retention (core/messaging_settings.py).
    messaging: MessagingSettings = field(default_factory=MessagingSettings)
    # The local aggregator over HTTP, when SMS_BACKEND names http (core/http_gateway_settings).
    http_gateway: HttpGatewaySettings | None = None

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def secure_cookies(self) -> bool:
        """Cookies are HTTPS-only unless the public URL itself is plain HTTP on a laptop."""
        return not (self.is_development and self.public_base_url.startswith("http://"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raise `SettingsError` on the first bad one."""
        env = dict(os.environ if environ is None else environ)
        environment = _environment(env.get("INTAKE_ENV", "production"))
        database_url = _database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        sms_backend, fallback = sms_backends(env.get("SMS_BACKEND"), _default_backend(environment))
        settings = cls(
            environment=environment,
            database_url=database_url,
            secret_key=_secret_key(env.get("SECRET_KEY"), environment),
            public_base_url=_public_base_url(env.get("PUBLIC_BASE_URL"), environment),
            redis_url=_redis_url(env.get("REDIS_URL")),
            sms_backend=sms_backend,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_from_number=env.get("TWILIO_FROM_NUMBER") or None,
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            twilio_voice_number=env.get("TWILIO_VOICE_NUMBER") or None,
            twilio_api_base_url=_optional_http_url(
                "TWILIO_API_BASE_URL", env.get("TWILIO_API_BASE_URL")
            ),
            proxy_hops=_small_int("PROXY_HOPS", env.get("PROXY_HOPS"), 0, 5),
            link_ttl_days=max(1, _small_int("LINK_TTL_DAYS", env.get("LINK_TTL_DAYS"), 7, 60)),
            complaint_room_hours=_hours(env.get("COMPLAINT_ROOM_HOURS")),
            ticket_deadlines=_deadlines(env.get("TICKET_DEADLINES")),
            scoring_formula=_scoring_formula(env.get("SCORING_FORMULA")),
            voucher_signing_key_file=_key_file(env.get("VOUCHER_SIGNING_KEY_FILE"), environment),
            audit_key_file=_audit_key_file(env.get("AUDIT_KEY_FILE"), environment),
            sms_buffer_max=max(
                1, _small_int("SMS_BUFFER_MAX", env.get("SMS_BUFFER_MAX"), 200_000, 10_000_000)
            ),
            max_queue_seconds=_small_int("MAX_QUEUE_SECONDS", env.get("MAX_QUEUE_SECONDS"), 5, 60),
            sms_max_per_second=max(
                1, _small_int("SMS_MAX_PER_SECOND", env.get("SMS_MAX_PER_SECOND"), 100, 10_000)
            ),
            max_in_flight_ivr=_small_int(
                "MAX_IN_FLIGHT_IVR", env.get("MAX_IN_FLIGHT_IVR"), IN_FLIGHT_IVR, 10_000
            ),
            max_in_flight_form=_small_int(
                "MAX_IN_FLIGHT_FORM", env.get("MAX_IN_FLIGHT_FORM"), IN_FLIGHT_FORM, 10_000
            ),
            max_in_flight_console=_small_int(
                "MAX_IN_FLIGHT_CONSOLE", env.get("MAX_IN_FLIGHT_CONSOLE"), IN_FLIGHT_CONSOLE, 10_000
            ),
            metrics_token=env.get("METRICS_TOKEN") or None,
            sms_segment_price_usd=_price(env.get("SMS_SEGMENT_PRICE_USD")),
            messaging=MessagingSettings.from_env(env, fallback),
            http_gateway=http_gateway_settings(env, SmsBackend.HTTP in (sms_backend, fallback)),
        )
        if SmsBackend.TWILIO in (sms_backend, fallback):
            _check_twilio(settings)
        return settings


def _deadlines(value: str | None) -> dict[TicketCategory, Deadline]:
    try:
        return parse_deadlines(value or "")
    except ValueError as problem:
        raise SettingsError("TICKET_DEADLINES", str(problem)) from None


def _scoring_formula(value: str | None) -> str | None:
    """A formula file that can be read; whether it parses is checked above `core`, by the
    formula's own parser (`assembly/settings.py`), before a process serves or works."""
    if not value:
        return None
    path = Path(value)
    try:
        path.read_bytes()
    except OSError as problem:
        reason = f"{path}: cannot be read ({problem.strerror})"
        raise SettingsError("SCORING_FORMULA", reason) from None
    return str(path.resolve())


def _key_file(value: str | None, environment: Environment) -> str | None:
    """A readable Ed25519 private key, checked at start rather than at the first export.

    Required in production: web processes that each generated their own key would print
    vouchers that do not verify against the one published key.
    """
    if not value:
        if environment is Environment.PRODUCTION:
            raise SettingsError("VOUCHER_SIGNING_KEY_FILE", "is required in production")
        return None
    try:
        load_private_key(Path(value).read_bytes())
    except OSError as problem:
        reason = f"cannot be read ({problem.strerror})"
        raise SettingsError("VOUCHER_SIGNING_KEY_FILE", reason) from None
    except InvalidKey as problem:
        raise SettingsError("VOUCHER_SIGNING_KEY_FILE", str(problem)) from None
    return value


def _audit_key_file(value: str | None, environment: Environment) -> str | None:
    """A readable audit key, checked at start rather than at the first audited action.

    Required in production: processes keyed differently would each write events the others
    call forged.
    """
    if not value:
        if environment is Environment.PRODUCTION:
            raise SettingsError("AUDIT_KEY_FILE", "is required in production")
        return None
    try:
        read_key(Path(value))
    except OSError as problem:
        raise SettingsError("AUDIT_KEY_FILE", f"cannot be read ({problem.strerror})") from None
    except InvalidAuditKey as problem:
        raise SettingsError("AUDIT_KEY_FILE", str(problem)) from None
    return value


def _environment(value: str) -> Environment:
    try:
        return Environment(value.strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise SettingsError("INTAKE_ENV", f"{value!r} is not one of {allowed}") from None


def _database_url(value: str) -> str:
    try:
        url: URL = make_url(value)
    except ArgumentError:
        raise SettingsError(
            "DATABASE_URL", "not a database URL (expected e.g. postgresql://user@host/db)"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in SUPPORTED_DATABASES:
        raise SettingsError("DATABASE_URL", f"{backend!r} is not supported (sqlite or postgresql)")
    if backend == "postgresql":
        if not url.database:
            raise SettingsError("DATABASE_URL", "names no database")
        # One driver for PostgreSQL everywhere: psycopg 3.
        url = url.set(drivername="postgresql+psycopg")
    elif url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return url.render_as_string(hide_password=False)


def _secret_key(value: str | None, environment: Environment) -> str:
    if not value:
        if environment is Environment.DEVELOPMENT:
            return _development_secret()
        raise SettingsError("SECRET_KEY", "is required outside development")
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError("SECRET_KEY", f"is shorter than {MIN_SECRET_LENGTH} characters")
    return value


def _development_secret() -> str:
    """A random key kept in var/ so that sign-ins survive restarts of the development server."""
    path = Path("var/development-secret-key")
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _public_base_url(value: str | None, environment: Environment) -> str:
    if not value:
        if environment is Environment.DEVELOPMENT:
            return "http://127.0.0.1:5000"
        raise SettingsError("PUBLIC_BASE_URL", "is required outside development")
    url = _optional_http_url("PUBLIC_BASE_URL", value) or ""
    if environment is Environment.PRODUCTION and not url.startswith("https://"):
        raise SettingsError("PUBLIC_BASE_URL", "must be https:// in production")
    return url


def _optional_http_url(name: str, value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, f"{value!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise SettingsError(name, "must not carry a query or fragment")
    try:
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise SettingsError(name, f"{value!r} has a malformed port") from None
    return value.strip().rstrip("/")


def _redis_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise SettingsError("REDIS_URL", f"{value!r} is not a redis:// URL")
    return value.strip()


def _hours(value: str | None) -> tuple[time, time]:
    """`HH:MM-HH:MM`, Beirut time, the first before the second (default 08:00-17:00)."""
    if not value:
        return (time(8, 0), time(17, 0))
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if match:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2):
            return (time(h1, m1), time(h2, m2))
    raise SettingsError("COMPLAINT_ROOM_HOURS", f"{value!r} is not like 08:00-17:00")


def _price(value: str | None) -> Decimal:
    """A price in US dollars such as `0.15`: from 0 to 10, at most 4 decimals."""
    if not value:
        return DEFAULT_SEGMENT_PRICE
    try:
        price = Decimal(value.strip())
    except InvalidOperation:
        price = Decimal(-1)
    if not price.is_finite() or not 0 <= price <= 10 or price != price.quantize(Decimal("0.0001")):
        reason = f"{value!r} is not a price in US dollars from 0 to 10 (e.g. 0.15)"
        raise SettingsError("SMS_SEGMENT_PRICE_USD", reason)
    return price


def _default_backend(environment: Environment) -> SmsBackend:
    return SmsBackend.CONSOLE if environment is not Environment.PRODUCTION else SmsBackend.TWILIO


def _check_twilio(settings: Settings) -> None:
    if not settings.twilio_account_sid:
        raise SettingsError("TWILIO_ACCOUNT_SID", "is required when SMS_BACKEND is twilio")
    if not settings.twilio_auth_token:
        raise SettingsError("TWILIO_AUTH_TOKEN", "is required when SMS_BACKEND is twilio")
    if not (settings.twilio_from_number or settings.twilio_messaging_service_sid):
        raise SettingsError(
            "TWILIO_FROM_NUMBER",
            "or TWILIO_MESSAGING_SERVICE_SID is required when SMS_BACKEND is twilio",
        )
