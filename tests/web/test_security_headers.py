"""Security headers: every answer carries them; production adds Strict-Transport-Security."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.settings import Environment
from tests.conftest import settings_for

# What every environment sends on a page (see assembly/app.py's `_security_headers`).
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _headers(
    engine: Engine, factory: sessionmaker[Session], environment: Environment, path: str
) -> dict[str, str]:
    url = engine.url.render_as_string(hide_password=False)
    base = "http://127.0.0.1:5000" if environment is Environment.DEVELOPMENT else None
    settings = settings_for(
        url, environment=environment, **({"public_base_url": base} if base else {})
    )
    client = create_app(settings, session_factory=factory).test_client()
    response = client.get(path, base_url="https://intake.test")
    return dict(response.headers)


@pytest.mark.parametrize("path", ["/sign-in", "/f/no-such-token", "/healthz"])
def test_production_answers_tell_browsers_to_use_https_only(
    engine: Engine, session_factory: sessionmaker[Session], path: str
) -> None:
    headers = _headers(engine, session_factory, Environment.PRODUCTION, path)
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("environment", [Environment.PRODUCTION, Environment.DEVELOPMENT])
def test_pages_keep_every_other_security_header(
    engine: Engine, session_factory: sessionmaker[Session], environment: Environment
) -> None:
    headers = _headers(engine, session_factory, environment, "/sign-in")
    assert {name: headers.get(name) for name in ALWAYS} == ALWAYS
    assert "default-src 'self'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize("environment", [Environment.DEVELOPMENT, Environment.TEST])
def test_outside_production_no_https_pin(
    engine: Engine, session_factory: sessionmaker[Session], environment: Environment
) -> None:
    """A laptop on plain http://127.0.0.1 must not be pinned to HTTPS for a year."""
    headers = _headers(engine, session_factory, environment, "/sign-in")
    assert "Strict-Transport-Security" not in headers
