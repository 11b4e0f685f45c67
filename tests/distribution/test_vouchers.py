"""Signed vouchers: a genuine one verifies with the public key alone, anywhere; a forged or
altered one never does; keys come from the setting, or are generated once for a laptop."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from flask.testing import FlaskCliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ed25519_keys import (
    InvalidKey,
    fingerprint,
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
)
from core.references import check_digit
from core.settings import Settings, SettingsError
from distribution import voucher_keys
from distribution.vouchers import MAX_TOKEN, Claim, InvalidVoucher, Problem, sign, verify
from tests.plugins.vouchers import SERVICE_KEY

ROOT = Path(__file__).resolve().parents[2]
KEY = generate_private_key()  # made at test time; no key lives in the repository
PUBLIC = KEY.public_key()
CLAIM = Claim("482930174" + check_digit("482930174"), 12, "5930184726", "21111", date(2020, 5, 10))
TOKEN = sign(CLAIM, KEY)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz0189.-_=+/ "


def refused(token: str) -> Problem:
    with pytest.raises(InvalidVoucher) as raised:
        verify(token, PUBLIC)
    return raised.value.problem


# --- the format ------------------------------------------------------------------------------


def test_a_signed_voucher_verifies_to_its_claim() -> None:
    assert verify(TOKEN, PUBLIC) == CLAIM
    assert TOKEN.startswith("1766V1.4829301749.12.5930184726.21111.2020-05-10.")
    assert len(TOKEN) <= 160 and TOKEN.isascii()


def test_the_token_fits_a_qr_codes_alphanumeric_mode() -> None:
    import segno

    assert set(TOKEN) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert segno.make(TOKEN, error="m").mode == "alphanumeric"


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_single_altered_character_fails(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(TOKEN) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != TOKEN[position]))
    altered = TOKEN[:position] + replacement + TOKEN[position + 1 :]
    refused(altered)


def test_every_alteration_within_the_tokens_own_alphabet_fails() -> None:
    """Exhaustively: each position, each plausible character (base32's unused bits included)."""
    survivors = []
    for position, original in enumerate(TOKEN):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            altered = TOKEN[:position] + replacement + TOKEN[position + 1 :]
            try:
                verify(altered, PUBLIC)
            except InvalidVoucher:
                continue
            survivors.append(altered)
    assert survivors == []


@pytest.mark.parametrize(
    "token",
    [
        TOKEN[:-1],
        TOKEN + "A",
        TOKEN.replace(".", "", 1),
        TOKEN.lower(),
        " " + TOKEN,
        "",
        "1766V1.",
        "x" * (MAX_TOKEN + 1),
        TOKEN + "\u0600",
    ],
)
def test_truncated_extended_or_garbled_tokens_are_malformed(token: str) -> None:
    assert refused(token) is Problem.MALFORMED


def test_a_claim_changed_and_left_with_its_old_signature_is_refused() -> None:
    other = sign(Claim(CLAIM.code, 13, CLAIM.reference, "21111", CLAIM.issued_on), KEY)
    forged = other.rsplit(".", 1)[0] + "." + TOKEN.rsplit(".", 1)[1]
    assert refused(forged) is Problem.BAD_SIGNATURE


def test_a_voucher_signed_by_another_key_fails() -> None:
    stranger = sign(CLAIM, generate_private_key())
    assert refused(stranger) is Problem.BAD_SIGNATURE


def test_another_version_is_named_as_such() -> None:
    assert refused(TOKEN.replace("1766V1.", "1766V2.", 1)) is Problem.UNKNOWN_VERSION
    assert refused(TOKEN.replace("1766V1.", "1766V17.", 1)) is Problem.UNKNOWN_VERSION


@pytest.mark.parametrize(
    "claim",
    [
        Claim("4829301745", 12, "5930184726", "21111", date(2020, 5, 10)),  # wrong check digit
        Claim(CLAIM.code, 0, "5930184726", "21111", date(2020, 5, 10)),
        Claim(CLAIM.code, 12, "59301847", "21111", date(2020, 5, 10)),
        Claim(CLAIM.code, 12, "5930184726", "LB3", date(2020, 5, 10)),
    ],
)
def test_a_malformed_claim_is_never_signed(claim: Claim) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        sign(claim, KEY)


# --- keys --------------------------------------------------------------------------------------


def test_keys_round_trip_through_pem() -> None:
    assert b"BEGIN PRIVATE KEY" in private_key_pem(KEY)
    assert b"BEGIN PUBLIC KEY" in public_key_pem(PUBLIC)
    again = load_private_key(private_key_pem(KEY))
    assert verify(sign(CLAIM, again), load_public_key(public_key_pem(PUBLIC))) == CLAIM
    assert len(fingerprint(PUBLIC).split(" ")) == 8


def test_keys_of_the_wrong_kind_are_refused() -> None:
    rsa = rsa_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    for pem in (rsa_pem, public_key_pem(PUBLIC), b"not a key"):
        with pytest.raises(InvalidKey):
            load_private_key(pem)
    with pytest.raises(InvalidKey):
        load_public_key(private_key_pem(KEY))


def test_without_the_setting_a_key_is_generated_once_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(voucher_keys, "DEFAULT_KEY_FILE", tmp_path / "var" / "key.pem")
    voucher_keys._signing_key.cache_clear()
    with caplog.at_level(logging.WARNING, logger="distribution.voucher_keys"):
        first = voucher_keys.signing_key(None)
    assert "production must set VOUCHER_SIGNING_KEY_FILE" in caplog.text
    path = tmp_path / "var" / "key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    voucher_keys._signing_key.cache_clear()
    again = voucher_keys.signing_key(None)  # another process finds the same file
    assert public_key_pem(again.public_key()) == public_key_pem(first.public_key())
    voucher_keys._signing_key.cache_clear()
    assert [p.name for p in path.parent.iterdir()] == ["key.pem"]  # no draft left behind


def test_writing_a_key_never_overwrites_one(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    voucher_keys.write_new_key(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        voucher_keys.write_new_key(path)
    assert path.read_bytes() == before


def _env(**changes: str) -> dict[str, str]:
    audit_key = Path(tempfile.mkdtemp(prefix="intake-vouchers-")) / "audit-key"
    audit_key.write_text("a" * 48)  # production requires one; its value does not matter here
    return {
        "AUDIT_KEY_FILE": str(audit_key),
        "INTAKE_ENV": "production",
        "DATABASE_URL": "postgresql://intake@db.internal/intake",
        "SECRET_KEY": "k" * 40,
        "PUBLIC_BASE_URL": "https://1766.example.gov.lb",
        "SMS_BACKEND": "console",
        **changes,
    }


def test_the_key_setting_is_checked_at_start(tmp_path: Path) -> None:
    good = tmp_path / "good.pem"
    good.write_bytes(private_key_pem(KEY))
    assert Settings.from_env(_env(VOUCHER_SIGNING_KEY_FILE=str(good))).voucher_signing_key_file
    public = tmp_path / "public.pem"
    public.write_bytes(public_key_pem(PUBLIC))
    for bad, says in ((tmp_path / "missing.pem", "cannot be read"), (public, "PKCS8")):
        with pytest.raises(SettingsError, match="VOUCHER_SIGNING_KEY_FILE") as raised:
            Settings.from_env(_env(VOUCHER_SIGNING_KEY_FILE=str(bad)))
        assert says in str(raised.value)
        assert "PRIVATE" not in str(raised.value)


# --- offline, with only the public key ---------------------------------------------------------


@pytest.fixture(scope="module")
def offline_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the checker's own files and the public key: no store, no service."""
    kit = tmp_path_factory.mktemp("offline")
    for name in ("distribution/vouchers.py", "distribution/voucher_check.py", "core/references.py",
                 "core/digits.py", "core/ed25519_keys.py"):  # fmt: skip
        (kit / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, kit / name)
    for package in ("distribution", "core"):
        (kit / package / "__init__.py").write_text("")
    (kit / "1766-vouchers.pem").write_bytes(public_key_pem(PUBLIC))
    return kit


def check_offline(kit: Path, token: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "distribution.voucher_check",
            "--public-key",
            "1766-vouchers.pem",
            token,
        ],
        cwd=kit,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_valid_voucher_verifies_offline_with_only_the_public_key(offline_kit: Path) -> None:
    result = check_offline(offline_kit, TOKEN)
    assert result.returncode == 0, result.stderr
    assert "VALID" in result.stdout and CLAIM.code in result.stdout
    assert "5930184726" in result.stdout and "21111" in result.stdout


def test_an_altered_voucher_fails_offline(offline_kit: Path) -> None:
    altered = TOKEN[:20] + ("9" if TOKEN[20] != "9" else "8") + TOKEN[21:]
    result = check_offline(offline_kit, altered)
    assert result.returncode == 1
    assert result.stdout.startswith("INVALID: ")


def test_the_checker_loads_neither_the_store_nor_the_service() -> None:
    probe = (
        "import sys, distribution.voucher_check; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert not loaded & {"sqlalchemy", "flask", "web", "webforms", "psycopg", "redis", "segno"}


# --- the operators' commands -------------------------------------------------------------------


def test_keygen_writes_a_new_key_and_refuses_to_overwrite(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "signing.pem"
    made = runner.invoke(args=["vouchers", "keygen", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert isinstance(load_private_key(out.read_bytes()), Ed25519PrivateKey)
    again = runner.invoke(args=["vouchers", "keygen", "--out", str(out)])
    assert again.exit_code != 0 and "refusing to overwrite" in again.output


def test_public_key_and_verify_commands(runner: FlaskCliRunner, tmp_path: Path) -> None:
    printed = runner.invoke(args=["vouchers", "public-key"])
    assert printed.output.encode() == public_key_pem(SERVICE_KEY.public_key())
    token = sign(CLAIM, SERVICE_KEY)
    good = runner.invoke(args=["vouchers", "verify", token])
    assert good.exit_code == 0 and "VALID" in good.output
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(public_key_pem(PUBLIC))
    other = runner.invoke(args=["vouchers", "verify", token, "--public-key", str(key_file)])
    assert other.exit_code == 1 and "INVALID: the signature does not match" in other.output
