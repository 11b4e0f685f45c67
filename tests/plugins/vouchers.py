"""The service's voucher key in tests: generated at test time, handed to the app as its setting.

Import `app` (and `voucher_key_file`) into a test module to replace conftest's app with one
that signs with SERVICE_KEY, so no test writes a key into the checkout's var/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from core.ed25519_keys import generate_private_key, private_key_pem
from tests.conftest import settings_for

SERVICE_KEY = generate_private_key()


@pytest.fixture(scope="session")
def voucher_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "voucher-signing-key.pem"
    path.write_bytes(private_key_pem(SERVICE_KEY))
    path.chmod(0o600)
    return path


@pytest.fixture
def app(engine: Engine, session_factory: sessionmaker[Session], voucher_key_file: Path) -> Flask:
    url = engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, voucher_signing_key_file=str(voucher_key_file))
    flask_app = create_app(settings, session_factory=session_factory)
    flask_app.config["TESTING"] = True
    return flask_app
