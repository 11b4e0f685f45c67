"""`users add`, `users password`, `users phone` and `users import`: staff accounts."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from cli.common import operator, unit_of_work
from core.account_import import (
    ImportProblem,
    ImportRefused,
    Row,
    RowProblem,
    check_rows,
    create_accounts,
    read_rows,
)
from core.phones import NotLebaneseMobile, normalise_desk_phone
from core.roles import Role, parse_role
from core.users import (
    AccountError,
    StaffUser,
    add_user,
    generate_password,
    set_password,
    set_phone,
)

users_group = AppGroup("users", help="Staff accounts.")


class RowError(Exception):
    """One row of an import cannot become an account."""


def _role(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Role | None:
    """Check the role as soon as it is read, before any other option is found missing."""
    if value is None:
        return None  # missing: click reports it as required
    try:
        return parse_role(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@users_group.command("add")
@click.argument("username")
@click.option("--role", required=True, callback=_role, help="One of: " + ", ".join(Role))
@click.option(
    "--area",
    "area_code",
    required=True,
    help="Locality, district or governorate code, or LB for national roles.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--phone", default=None, help="The phone 'take next call' rings (agents).")
def users_add(
    username: str, role: Role, area_code: str, password_stdin: bool, phone: str | None
) -> None:
    """Create one staff account; the password is prompted for (or read from stdin)."""
    number = _desk_phone(phone) if phone else None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work() as session:
            user = add_user(session, username, role, area_code, password, operator())
            if number:
                set_phone(session, user, number, operator())
            name, area = user.username, user.area_code
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {name} ({role.value}, {area})")


@users_group.command("phone")
@click.argument("username")
@click.argument("phone", required=False)
def users_phone(username: str, phone: str | None) -> None:
    """Set the phone 'take next call' rings for USERNAME (no PHONE: remove it)."""
    number = _desk_phone(phone) if phone else None
    with unit_of_work() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username.lower()))
        if user is None:
            raise click.ClickException(f"no account named {username!r}")
        set_phone(session, user, number, operator())
    click.echo(f"{username}: phone {'set' if number else 'removed'}")


@users_group.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password (prompted for, or read from stdin); its sessions end."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    name = username.strip().lower()
    try:
        with unit_of_work() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == name))
            if user is None:
                raise click.ClickException(f"no account named {username!r}")
            set_password(session, user, password, operator())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: password changed; every session of the account is signed out")


def _desk_phone(text: str) -> str:
    try:
        return normalise_desk_phone(text)
    except NotLebaneseMobile:
        raise click.ClickException(f"{text!r} is not a Lebanese phone number") from None


@users_group.command("import")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New file that receives the generated passwords (created with mode 600).",
)
def users_import(csv_path: Path, out_path: Path) -> None:
    """Create many accounts from a CSV with columns username,role,area_code (and phone).

    All rows are checked first (core/account_import.py); if any is wrong, nothing is created
    and every problem is listed. Generated passwords go only to OUT, never to the screen or
    the log.
    """
    if out_path.exists() or out_path.is_symlink():
        raise click.ClickException(f"{out_path} exists; choose a new file for the passwords")
    if not out_path.parent.is_dir():
        raise click.ClickException(f"{out_path}: the folder {out_path.parent} does not exist")
    rows = _read_import(csv_path)
    problems: list[RowProblem] = []
    written = False
    try:
        with unit_of_work() as session:
            accounts, problems = check_rows(session, rows)
            if problems:
                raise RowError()
            created = create_accounts(session, accounts, operator(), generate_password)
            lines = [(u.username, u.role_value, u.area_code, secret) for u, secret in created]
            written = _write_passwords(out_path, lines)
    except RowError:
        for problem in problems:
            click.echo(f"  {problem.message}", err=True)
        raise click.ClickException(
            f"{len(problems)} row(s) refused; no account was created"
        ) from None
    except BaseException:
        if written:  # the accounts were not kept, so neither are their passwords
            out_path.unlink(missing_ok=True)
        raise
    click.echo(f"created {len(lines)} accounts; passwords are in {out_path}")


def _read_import(path: Path) -> list[Row]:
    try:
        return read_rows(path.read_bytes())
    except ImportRefused as refused:
        problem = refused.problem
        if problem is ImportProblem.TOO_LARGE:
            raise click.ClickException(f"{path} is larger than 5 MiB") from None
        if problem is ImportProblem.NOT_UTF8:
            raise click.ClickException(f"{path} is not UTF-8") from None
        if problem is ImportProblem.MISSING_COLUMNS:
            raise click.ClickException(f"{path}: missing columns: {refused.detail}") from None
        if problem is ImportProblem.TOO_MANY_ROWS:
            raise click.ClickException(f"{path}: more than {refused.detail} rows") from None
        raise click.ClickException(f"{path}: not a readable CSV ({refused.detail})") from None


def _write_passwords(path: Path, created: list[tuple[str, str, str, str]]) -> bool:
    """Written before the transaction commits: if this fails, no account exists without it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot create it ({exc.strerror})") from None
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("username", "role", "area_code", "password"))
        writer.writerows(created)
    return True
