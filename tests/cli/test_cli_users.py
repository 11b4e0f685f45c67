"""`users add` and `users import`: staff accounts created, and bad input refused whole."""

from __future__ import annotations

import csv
import logging
import os
import stat
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.roles import Role
from core.users import StaffUser
from tests.plugins.cli import GOOD_PASSWORD, add_user_args, assert_refused, count, signs_in
from tests.support.factories import HOME, make_user

IMPORT_HEADER = ["username", "role", "area_code"]
PASSWORDS_HEADER = ["username", "role", "area_code", "password"]


# --- helpers -------------------------------------------------------------------------------


def user(db: Session, username: str) -> StaffUser | None:
    db.expire_all()
    return db.scalar(select(StaffUser).where(StaffUser.username == username))


def write_import(path: Path, rows: list[list[str]], header: list[str] = IMPORT_HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_passwords(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


# --- users add -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "area", "shown", "parents"),
    [
        ("focal_point", "21111", "focal_point, 21111", ("LB3", "LB32", "21111")),
        ("mukhtar", " 21133 ", "mukhtar, 21133", ("LB3", "LB32", "21133")),
        ("qaimaqam", "lb32", "qaimaqam, LB32", ("LB3", "LB32", None)),
        ("governor", "LB7", "governor, LB7", ("LB7", None, None)),
        ("army", "35111", "army, 35111", ("LB7", "LB51", "35111")),
        ("ministry", "LB", "ministry, LB", (None, None, None)),
        ("ADMIN", "lb", "admin, LB", (None, None, None)),
    ],
)
def test_users_add_creates_the_account(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    role: str,
    area: str,
    shown: str,
    parents: tuple[str | None, str | None, str | None],
) -> None:
    """The account gets its role and its area with every parent; the password is hashed."""
    result = runner.invoke(args=add_user_args("alice", role, area), input=GOOD_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"created alice ({shown})" in result.output
    assert GOOD_PASSWORD not in result.output
    account = user(db, "alice")
    assert account is not None
    assert account.role is Role(role.lower())
    assert account.area_code == shown.split(", ")[1]
    assert (account.governorate_code, account.district_code, account.locality_code) == parents
    assert account.password_hash.startswith("$argon2")
    assert GOOD_PASSWORD not in account.password_hash
    assert account.is_active and account.needs_pledge
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.created")))
    assert [(e.object_id, e.actor.startswith("cli")) for e in events] == [(str(account.id), True)]
    assert GOOD_PASSWORD not in events[0].details
    assert signs_in(db, "alice", GOOD_PASSWORD)


def test_users_add_prompts_twice_for_the_password(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    """Without --password-stdin the password is asked for twice and never echoed."""
    result = runner.invoke(
        args=["users", "add", "bob", "--role", "focal_point", "--area", HOME],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert GOOD_PASSWORD not in result.output
    assert "created bob (focal_point, 21111)" in result.output
    assert signs_in(db, "bob", GOOD_PASSWORD)


def test_users_add_prompt_refuses_a_mismatched_confirmation(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    """Two different passwords at the prompt create nothing."""
    result = runner.invoke(
        args=["users", "add", "bob", "--role", "focal_point", "--area", HOME],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}-typo\n",
    )
    assert_refused(result, "do not match")
    assert count(db, StaffUser) == 0


ALL_ROLES = ", ".join(role.value for role in Role)


@pytest.mark.parametrize(
    ("username", "role", "area", "password", "message"),
    [
        pytest.param(
            "alice",
            "mayor",
            HOME,
            GOOD_PASSWORD,
            f"unknown role 'mayor' (one of: {ALL_ROLES})",
            id="unknown-role",
        ),
        pytest.param(
            "alice", "focal_point", "29999", GOOD_PASSWORD, "unknown area '29999'", id="no-area"
        ),
        pytest.param(
            "alice", "focal_point", "Beirut", GOOD_PASSWORD, "unknown area 'Beirut'", id="name"
        ),
        pytest.param(
            "alice",
            "focal_point",
            "LB32",
            GOOD_PASSWORD,
            "role focal_point needs a locality area, not a district",
            id="focal-on-district",
        ),
        pytest.param(
            "alice",
            "qaimaqam",
            HOME,
            GOOD_PASSWORD,
            "role qaimaqam needs a district area, not a locality",
            id="qaimaqam-on-locality",
        ),
        pytest.param(
            "alice",
            "governor",
            "LB",
            GOOD_PASSWORD,
            "role governor needs a governorate area, not a national",
            id="governor-national",
        ),
        pytest.param(
            "alice",
            "ministry",
            "LB3",
            GOOD_PASSWORD,
            "role ministry needs a national area, not a governorate",
            id="ministry-on-governorate",
        ),
        pytest.param(
            "alice", "focal_point", HOME, "short-pw", "at least 12 characters", id="short-password"
        ),
        pytest.param("alice", "focal_point", HOME, "", "at least 12 characters", id="no-password"),
        pytest.param(
            "alice", "focal_point", HOME, "p" * 257, "at most 256 characters", id="long-password"
        ),
        pytest.param(
            "../../etc", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="path"
        ),
        pytest.param("a" * 500, "focal_point", HOME, GOOD_PASSWORD, "username must be", id="500"),
        pytest.param("عمر", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="arabic"),
        pytest.param("al", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="too-short"),
        pytest.param(
            "alice smith", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="space"
        ),
        pytest.param(
            "bob');--", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="quote"
        ),
    ],
)
def test_users_add_refuses(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    username: str,
    role: str,
    area: str,
    password: str,
    message: str,
) -> None:
    """Each refusal says why, exits non-zero and writes no account and no audit event."""
    result = runner.invoke(args=add_user_args(username, role, area), input=password + "\n")
    assert_refused(result, message)
    if password:
        assert password not in result.output
    assert count(db, StaffUser) == 0
    assert count(db, AuditEvent) == 0


def test_users_add_refuses_a_taken_username(runner: FlaskCliRunner, db: Session, geo: None) -> None:
    """A username is taken whatever its case; the existing account is untouched."""
    existing = make_user(db, Role.FOCAL_POINT, HOME, username="alice")
    db.commit()
    hash_before = existing.password_hash
    result = runner.invoke(
        args=add_user_args("ALICE", "governor", "LB3"), input=GOOD_PASSWORD + "\n"
    )
    assert_refused(result, "username 'alice' is taken")
    assert count(db, StaffUser) == 1
    account = user(db, "alice")
    assert account is not None
    assert (account.role, account.password_hash) == (Role.FOCAL_POINT, hash_before)


@pytest.mark.parametrize(
    "args",
    [
        ["users", "add", "alice", "--role", "emperor"],
        ["users", "add", "alice", "--area", HOME, "--role", "emperor"],
        ["users", "add", "--role", "Emperor", "alice"],
    ],
    ids=["no-area", "area-first", "no-area-role-first"],
)
def test_users_add_names_an_unknown_role_before_a_missing_area(
    runner: FlaskCliRunner, db: Session, args: list[str]
) -> None:
    """A role that does not exist is the first thing to fix: no word of `--area` before it."""
    result = runner.invoke(args=args, input=GOOD_PASSWORD + "\n")
    assert_refused(result, f"unknown role '{args[args.index('--role') + 1]}' (one of: {ALL_ROLES})")
    assert "Missing option '--area'" not in result.output
    assert count(db, StaffUser) == 0


# --- users import --------------------------------------------------------------------------


def test_users_import_creates_every_account_and_writes_passwords_only_to_the_file(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """All accounts exist; their passwords are in the 0600 file only, and each one signs in."""
    caplog.set_level(logging.DEBUG)
    source = write_import(
        tmp_path / "staff.csv",
        [
            ["chiyah-focal", "focal_point", HOME],
            ["baabda", "qaimaqam", "LB32"],
            [" Akkar.Gov ", "GOVERNOR", " lb7 "],
            ["ministry-1", "ministry", "LB"],
        ],
    )
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"created 4 accounts; passwords are in {out}" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    header, rows = read_passwords(out)
    assert header == PASSWORDS_HEADER
    assert [(r["username"], r["role"], r["area_code"]) for r in rows] == [
        ("chiyah-focal", "focal_point", HOME),
        ("baabda", "qaimaqam", "LB32"),
        ("akkar.gov", "governor", "LB7"),
        ("ministry-1", "ministry", "LB"),
    ]
    passwords = [r["password"] for r in rows]
    assert len(set(passwords)) == 4 and all(len(p) >= 12 for p in passwords)
    audit_details = " ".join(db.scalars(select(AuditEvent.details)))
    for password in passwords:
        assert password not in result.output
        assert password not in caplog.text
        assert password not in audit_details
    assert count(db, StaffUser) == 4
    for n, row in enumerate(rows):
        account = user(db, row["username"])
        assert account is not None and account.role.value == row["role"]
        assert signs_in(db, row["username"], row["password"], f"10.0.0.{n}")


def test_users_import_accepts_a_spreadsheet_bom(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path
) -> None:
    """A CSV saved by a spreadsheet with a UTF-8 byte-order mark imports like any other."""
    source = tmp_path / "staff.csv"
    source.write_bytes(b"\xef\xbb\xbfusername,role,area_code\r\nhalba-focal,focal_point,35111\r\n")
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    account = user(db, "halba-focal")
    assert account is not None and account.district_code == "LB51"


GOOD_IMPORT_ROWS = [["chiyah-focal", "focal_point", HOME], ["baabda", "qaimaqam", "LB32"]]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["x-mayor", "mayor", HOME], "line 4: unknown role 'mayor'"),
        (["x-nowhere", "focal_point", "29999"], "line 4: unknown area '29999'"),
        (["chiyah-focal", "mukhtar", HOME], "line 4: username 'chiyah-focal' is taken"),
        (["x-wrong", "focal_point", "LB32"], "line 4: role focal_point needs a locality area"),
        (["../etc", "focal_point", HOME], "line 4: username must be"),
        (["", "focal_point", HOME], "line 4: username must be"),
    ],
    ids=["unknown-role", "unknown-area", "duplicate-in-file", "wrong-level", "hostile", "empty"],
)
def test_users_import_with_a_bad_row_creates_nothing(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    tmp_path: Path,
    bad: list[str],
    message: str,
) -> None:
    """One bad row among good ones: it is named by line, and no account or file is left."""
    source = write_import(tmp_path / "staff.csv", [*GOOD_IMPORT_ROWS, bad])
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(result, message, "1 row(s) refused; no account was created")
    assert count(db, StaffUser) == 0
    assert count(db, AuditEvent) == 0
    assert not out.exists()


def test_users_import_lists_every_problem(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path
) -> None:
    """Every bad row is listed with its line number in one run, not just the first."""
    source = write_import(
        tmp_path / "staff.csv",
        [
            ["chiyah-focal", "focal_point", HOME],  # line 2
            ["x-mayor", "mayor", HOME],  # line 3
            ["x-nowhere", "focal_point", "29999"],  # line 4
            ["baabda", "qaimaqam", "LB32"],  # line 5
            ["chiyah-focal", "mukhtar", HOME],  # line 6
        ],
    )
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(
        result,
        "line 3: unknown role 'mayor'",
        "line 4: unknown area '29999'",
        "line 6: username 'chiyah-focal' is taken",
        "3 row(s) refused; no account was created",
    )
    assert "line 2" not in result.output and "line 5" not in result.output
    assert count(db, StaffUser) == 0
    assert not out.exists()


def test_users_import_never_overwrites_an_existing_file(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path
) -> None:
    """An --out file that exists is refused and keeps its content; no account is made."""
    source = write_import(tmp_path / "staff.csv", GOOD_IMPORT_ROWS)
    out = tmp_path / "passwords.csv"
    out.write_text("the previous batch's passwords\n")
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(result, f"{out} exists; choose a new file")
    assert out.read_text() == "the previous batch's passwords\n"
    assert count(db, StaffUser) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"username,role\nchiyah-focal,focal_point\n", "missing columns: area_code"),
        (b"user;role;area\nchiyah-focal;focal_point;21111\n", "missing columns: username, role"),
        (b"", "missing columns: username, role, area_code"),
        ("username,role,area_code\nعمر,focal_point,21111\n".encode("cp1256"), "is not UTF-8"),
    ],
    ids=["no-area-column", "semicolons", "empty", "windows-1256"],
)
def test_users_import_refuses_an_unreadable_file(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    tmp_path: Path,
    content: bytes,
    message: str,
) -> None:
    """A file without the three columns (or not UTF-8) is refused whole, with the reason."""
    source = tmp_path / "staff.csv"
    source.write_bytes(content)
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(result, message)
    assert count(db, StaffUser) == 0
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing-directory", "dangling-symlink"])
def test_users_import_refuses_an_unusable_out_path(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path, kind: str
) -> None:
    """An --out that cannot be created is a clear refusal; no account, and nothing deleted."""
    source = write_import(tmp_path / "staff.csv", GOOD_IMPORT_ROWS)
    if kind == "missing-directory":
        out = tmp_path / "no-such-dir" / "passwords.csv"
    else:
        out = tmp_path / "passwords.csv"
        out.symlink_to(tmp_path / "elsewhere.csv")
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert count(db, StaffUser) == 0
    assert kind != "dangling-symlink" or out.is_symlink(), "the operator's link was deleted"
    assert_refused(result, str(out))


def test_users_import_file_is_private_even_with_a_loose_umask(
    runner: FlaskCliRunner, geo: None, tmp_path: Path
) -> None:
    """The passwords file is 0600 even when the operator's umask would allow more."""
    source = write_import(tmp_path / "staff.csv", GOOD_IMPORT_ROWS)
    out = tmp_path / "passwords.csv"
    previous = os.umask(0)
    try:
        result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
