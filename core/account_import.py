"""Many staff accounts from one CSV (`username,role,area_code[,phone]`), all or none.

Shared by `flask --app wsgi users import` and the admin's page: the file is read, every row
checked, and only when no row has a problem is any account created, so the person importing
sees every problem of the file at once and never a half-imported batch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.account_admin import UnknownArea, WrongLevel, resolve_area_for
from core.phones import NotLebaneseMobile, normalise_mobile
from core.roles import Role, parse_role
from core.users import USERNAME, StaffUser, add_user, set_phone

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
COLUMNS = ("username", "role", "area_code")  # and optionally "phone", a Lebanese mobile


class ImportProblem(StrEnum):
    """What is wrong with the file, or with one of its rows."""

    TOO_LARGE = "too_large"  # over MAX_IMPORT_BYTES
    NOT_UTF8 = "not_utf8"  # another encoding (Excel's Windows-1256, say): save as UTF-8
    NOT_CSV = "not_csv"  # the CSV reader gave up
    MISSING_COLUMNS = "missing_columns"  # detail: the columns missing
    TOO_MANY_ROWS = "too_many_rows"  # over MAX_ROWS
    NO_ROWS = "no_rows"  # a header and nothing else
    BAD_USERNAME = "bad_username"
    USERNAME_TAKEN = "username_taken"  # by an account, or by an earlier row of the file
    UNKNOWN_ROLE = "unknown_role"
    UNKNOWN_AREA = "unknown_area"
    WRONG_LEVEL = "wrong_level"  # the area is not of the level the role is tied to
    BAD_PHONE = "bad_phone"  # not a Lebanese mobile


class ImportRefused(ValueError):
    """The file as a whole cannot be read; `detail` names what (columns missing...)."""

    def __init__(self, problem: ImportProblem, detail: str = "") -> None:
        super().__init__(detail or problem.value)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class RowProblem:
    """One row's problem: its line in the file, what, the value at fault, in plain words."""

    line: int
    problem: ImportProblem
    value: str
    message: str  # for operators (the CLI); pages translate `problem` instead


@dataclass(frozen=True)
class NewAccount:
    """A row that passed every check."""

    line: int
    username: str
    role: Role
    area_code: str
    phone: str | None


Row = tuple[int, dict[str, str]]


def read_rows(data: bytes) -> list[Row]:
    """The rows of a file with their line numbers; raises `ImportRefused`."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused(ImportProblem.TOO_LARGE)
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportRefused(ImportProblem.MISSING_COLUMNS, ", ".join(missing))
        rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise ImportRefused(ImportProblem.NOT_UTF8) from None
    except csv.Error as exc:
        raise ImportRefused(ImportProblem.NOT_CSV, str(exc)) from None
    if len(rows) > MAX_ROWS:
        raise ImportRefused(ImportProblem.TOO_MANY_ROWS, str(MAX_ROWS))
    return rows


def check_rows(session: Session, rows: list[Row]) -> tuple[list[NewAccount], list[RowProblem]]:
    """Every row checked against the store and the rows before it; nothing is written."""
    accounts: list[NewAccount] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for line, row in rows:
        checked = _check_row(session, line, row, seen)
        if isinstance(checked, RowProblem):
            problems.append(checked)
        else:
            seen.add(checked.username)
            accounts.append(checked)
    return accounts, problems


def _check_row(
    session: Session, line: int, row: dict[str, str], seen: set[str]
) -> NewAccount | RowProblem:
    def problem(kind: ImportProblem, value: str, message: str) -> RowProblem:
        return RowProblem(line, kind, value[:60], f"line {line}: {message}")

    username = str(row.get("username") or "").strip().lower()
    if not USERNAME.fullmatch(username):
        return problem(
            ImportProblem.BAD_USERNAME,
            username,
            "username must be 3-40 characters: lowercase letters, digits, '.', '_' or '-'",
        )
    typed_role = str(row.get("role") or "")
    try:
        role = parse_role(typed_role)
    except ValueError as exc:
        return problem(ImportProblem.UNKNOWN_ROLE, typed_role, str(exc))
    typed_area = str(row.get("area_code") or "")
    try:
        area = resolve_area_for(session, role, typed_area)
    except UnknownArea as exc:
        return problem(ImportProblem.UNKNOWN_AREA, typed_area, str(exc))
    except WrongLevel as exc:
        return problem(ImportProblem.WRONG_LEVEL, role.value, str(exc))
    if username in seen or session.scalar(
        select(StaffUser.id).where(StaffUser.username == username)
    ):
        return problem(ImportProblem.USERNAME_TAKEN, username, f"username {username!r} is taken")
    typed_phone = str(row.get("phone") or "").strip()
    try:
        phone = normalise_mobile(typed_phone) if typed_phone else None
    except NotLebaneseMobile:
        return problem(ImportProblem.BAD_PHONE, "", "the phone is not a Lebanese mobile number")
    return NewAccount(line, username, role, area.code, phone)


def create_accounts(
    session: Session,
    accounts: list[NewAccount],
    actor: str,
    password: Callable[[], str],
) -> list[tuple[StaffUser, str]]:
    """Create the checked accounts, each with `password()`; the caller commits or rolls back."""
    created = []
    for new in accounts:
        secret = password()
        user = add_user(session, new.username, new.role, new.area_code, secret, actor)
        if new.phone:
            set_phone(session, user, new.phone, actor)
        created.append((user, secret))
    return created
