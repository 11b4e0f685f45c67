"""The signed list of revoked vouchers: published at /vouchers/revoked and by `vouchers
revoked`, its signature checks with the public key alone, any change to it is caught, and the
offline checker given `--revoked` refuses a revoked voucher (and a list it cannot trust)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from core.ed25519_keys import generate_private_key, load_public_key, public_key_pem
from distribution.handovers import Voucher, issue_vouchers
from distribution.revocation_list import (
    BadRevocationList,
    RevocationReason,
    Revoked,
    read_signed,
    signed_list,
)
from distribution.revocations import revoke_voucher
from distribution.voucher_check import main
from tests.plugins.handover_world import World
from tests.plugins.vouchers import SERVICE_KEY
from tests.support.factories import HOME

PUBLIC = SERVICE_KEY.public_key()
AT = datetime(2020, 5, 10, 9, 30, tzinfo=UTC)
ENTRIES = [
    Revoked("4829301749", datetime(2020, 5, 9, 8, 0, tzinfo=UTC), "dispute"),
    Revoked("5930184726", datetime(2020, 5, 9, 11, 15, 30, tzinfo=UTC), "correction_reissued"),
]


def test_a_signed_list_reads_back_whole() -> None:
    text = signed_list(ENTRIES, AT, SERVICE_KEY)
    assert text.splitlines()[:3] == [
        "1766 revoked vouchers v1",
        "published 2020-05-10T09:30:00Z",
        "4829301749 2020-05-09T08:00:00Z dispute",
    ]
    read = read_signed(text, PUBLIC)
    assert read.published_at == AT and list(read.revoked.values()) == ENTRIES
    assert read_signed(signed_list([], AT, SERVICE_KEY), PUBLIC).revoked == {}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("4829301749", "4829301748"),  # another voucher's code
        lambda t: t.replace(" dispute\n", " correction_reissued\n"),  # another reason
        lambda t: t.replace("4829301749 2020-05-09T08:00:00Z dispute\n", ""),  # a line dropped
        lambda t: t.replace(
            "published",
            "published 2020-05-11T00:00:00Z\n1234567890 2020-05-09T08:00:00Z dispute\npublished",
            1,
        ),
        lambda t: t.replace("2020-05-10T09:30:00Z", "2020-06-10T09:30:00Z"),  # a fresher date
        lambda t: t.rsplit("signature ", 1)[0],  # the signature cut off
        lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],  # the signature altered
        lambda t: t.replace("1766 revoked", "1766 révoqué"),  # not even ASCII
    ],
)
def test_any_change_to_the_list_is_caught(tamper: object) -> None:
    text = signed_list(ENTRIES, AT, SERVICE_KEY)
    with pytest.raises(BadRevocationList):
        read_signed(tamper(text), PUBLIC)  # type: ignore[operator]


def test_a_list_signed_with_another_key_is_refused() -> None:
    text = signed_list(ENTRIES, AT, generate_private_key())
    with pytest.raises(BadRevocationList):
        read_signed(text, PUBLIC)


# --- published by the service ------------------------------------------------------------------


@pytest.fixture
def revoked_voucher(db: Session, handover_world: World) -> tuple[Voucher, Voucher]:
    """Two Chiyah vouchers: the first revoked (a dispute), the second good."""
    first, second, *_ = issue_vouchers(db, handover_world.published, HOME, SERVICE_KEY, "army")
    revoke_voucher(db, first, RevocationReason.DISPUTE, "committee", note="another family")
    db.commit()
    return first, second


def test_the_list_is_published_beside_the_public_key(
    client: FlaskClient, revoked_voucher: tuple[Voucher, Voucher]
) -> None:
    revoked, good = revoked_voucher
    response = client.get("/vouchers/revoked")  # nobody signed in
    assert response.status_code == 200 and response.mimetype == "text/plain"
    public = load_public_key(client.get("/vouchers/public-key.pem").data)
    read = read_signed(response.get_data(as_text=True), public)
    assert list(read.revoked) == [revoked.code] and read.revoked[revoked.code].reason == "dispute"
    assert good.code not in read.revoked
    assert "another family" not in response.get_data(as_text=True)  # the words stay inside


def test_the_cli_prints_the_same_list(
    runner: FlaskCliRunner, revoked_voucher: tuple[Voucher, Voucher]
) -> None:
    revoked, _good = revoked_voucher
    result = runner.invoke(args=["vouchers", "revoked"])
    assert result.exit_code == 0, result.output
    assert list(read_signed(result.output, PUBLIC).revoked) == [revoked.code]


# --- the offline checker ------------------------------------------------------------------


@pytest.fixture
def offline_files(
    tmp_path: Path, client: FlaskClient, revoked_voucher: tuple[Voucher, Voucher]
) -> tuple[Path, Path]:
    """What an officer downloads before going offline: the public key and the revoked list."""
    key = tmp_path / "1766-vouchers.pem"
    key.write_bytes(public_key_pem(PUBLIC))
    listed = tmp_path / "1766-revoked.txt"
    listed.write_bytes(client.get("/vouchers/revoked").data)
    return key, listed


def test_the_offline_checker_refuses_a_revoked_voucher(
    offline_files: tuple[Path, Path],
    revoked_voucher: tuple[Voucher, Voucher],
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, listed = offline_files
    revoked, good = revoked_voucher
    args = ["--public-key", str(key), "--revoked", str(listed)]
    assert main([*args, revoked.token]) == 1
    said = capsys.readouterr().out
    assert (
        said.startswith(f"REVOKED: voucher {revoked.code} was revoked on ") and "(dispute)" in said
    )
    assert main([*args, good.token]) == 0
    said = capsys.readouterr().out
    assert said.startswith("VALID") and "not on the revocation list published " in said
    assert main(["--public-key", str(key), revoked.token]) == 0  # without the list: genuine


def test_the_offline_checker_refuses_a_list_it_cannot_trust(
    offline_files: tuple[Path, Path],
    revoked_voucher: tuple[Voucher, Voucher],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, listed = offline_files
    revoked, _good = revoked_voucher
    emptied = tmp_path / "emptied.txt"
    emptied.write_text(listed.read_text().replace(f"{revoked.code} ", "0000000000 "))
    for bad in (emptied, tmp_path / "missing.txt"):
        assert main(["--public-key", str(key), "--revoked", str(bad), revoked.token]) == 2
        assert "cannot use the revocation list" in capsys.readouterr().err
