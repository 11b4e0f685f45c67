"""The audit key: made by `audit keygen`, read and checked at start, required in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from core import audit, audit_key
from core.audit import verify_chain
from core.audit_key import InvalidAuditKey, parse_key
from core.settings import Settings, SettingsError
from tests.plugins.cli import assert_refused


def test_keygen_writes_a_private_key_once(runner: FlaskCliRunner, tmp_path: Path) -> None:
    out = tmp_path / "secrets" / "audit-key"
    result = runner.invoke(args=["audit", "keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "public key fingerprint" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(out.read_bytes().strip()) >= audit_key.MIN_KEY_BYTES
    before = out.read_bytes()
    assert_refused(runner.invoke(args=["audit", "keygen", "--out", str(out)]), "refusing")
    assert out.read_bytes() == before


def _environment(key_file: Path) -> dict[str, str]:
    return {
        "INTAKE_ENV": "test",
        "SECRET_KEY": "k" * 40,
        "PUBLIC_BASE_URL": "https://1766.example.gov.lb",
        "AUDIT_KEY_FILE": str(key_file),
    }


def test_the_key_setting_is_checked_at_start(tmp_path: Path) -> None:
    good = tmp_path / "good"
    audit_key.write_new_key(good)
    assert Settings.from_env(_environment(good)).audit_key_file == str(good)
    short = tmp_path / "short"
    short.write_text("not-32-bytes\n")
    with pytest.raises(SettingsError, match="AUDIT_KEY_FILE: holds 12 bytes") as raised:
        Settings.from_env(_environment(short))
    assert "not-32" not in str(raised.value)  # a key's bytes never reach a message
    with pytest.raises(InvalidAuditKey):
        parse_key(b" " * 40)


def test_events_written_under_one_key_fail_under_another(db: Session) -> None:
    audit.record(db, "tester", "test.event")
    other = parse_key(b"another-key-of-at-least-thirty-two-bytes")
    report = verify_chain(db, other)
    assert (report.broken_seq, report.reason) == (1, "event 1 was altered after it was written")
    assert verify_chain(db).ok
