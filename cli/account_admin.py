"""`users disable`, `enable`, `reset-password`, `list`, `set-role`: running staff accounts.

Added to the `users` group of cli/accounts.py by `cli.register_commands` (`COMMANDS`). Each
command names the account by username, says clearly what is wrong (an unknown account, a bad
role or area, the last admin) and then writes nothing.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from cli.common import operator, settings, unit_of_work
from core.account_admin import (
    AccountFilter,
    AccountState,
    change_role_and_area,
    disable_user,
    enable_user,
    find_user,
    list_accounts,
)
from core.geography import Area, AreaLevel
from core.notifications import dispatch
from core.password_resets import RESET_LIFETIME, Sender, SmsRefused, issue_link
from core.phones import masked
from core.roles import Role, parse_role
from core.users import AccountError, StaffUser
from texts.sms import compose


class _Console:
    """The operator as a viewer: national, allowed to manage accounts."""

    role = Role.ADMIN
    area = Area(AreaLevel.NATIONAL, "LB")


def _account(session: Session, username: str) -> StaffUser:
    user = find_user(session, username)
    if user is None:
        raise click.ClickException(f"no account named {username.strip()!r}")
    return user


def _role(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Role | None:
    if value is None:
        return None
    try:
        return parse_role(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _refused(exc: AccountError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("disable")
@with_appcontext
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable USERNAME: its open sessions end at once and it cannot sign in."""
    try:
        with unit_of_work() as session:
            changed = disable_user(session, _account(session, username), operator())
    except AccountError as exc:
        raise _refused(exc) from None
    name = username.strip().lower()
    click.echo(
        f"{name}: disabled; its sessions are ended" if changed else f"{name}: already disabled"
    )


@click.command("enable")
@with_appcontext
@click.argument("username")
def users_enable(username: str) -> None:
    """Let USERNAME sign in again (with its password, or a set-password link)."""
    with unit_of_work() as session:
        changed = enable_user(session, _account(session, username), operator())
    name = username.strip().lower()
    click.echo(f"{name}: enabled" if changed else f"{name}: already enabled")


@click.command("reset-password")
@with_appcontext
@click.argument("username")
@click.option("--show", is_flag=True, help="Print the one-time link here instead of sending it.")
def users_reset_password(username: str, show: bool) -> None:
    """A one-time set-password link for USERNAME, valid 30 minutes.

    Sent by SMS to the account's phone; printed once here with --show or when the account
    has no phone. Earlier links of the account stop working.
    """
    config = settings()
    sender = Sender(config.secret_key, config.public_base_url, compose)
    try:
        with unit_of_work() as session:
            user = _account(session, username)
            phone = user.phone
            delivery = issue_link(session, user, operator(), sender, show=show)
    except SmsRefused as refused:
        raise click.ClickException(
            f"the account's phone does not take SMS now ({refused.reason.value}); use --show"
        ) from None
    dispatch(current_app.extensions["intake.jobs"], delivery.to_dispatch, new=True)
    minutes = int(RESET_LIFETIME.total_seconds() // 60)
    if delivery.shown:
        click.echo(f"one-time link, valid {minutes} minutes, shown only now:")
        click.echo(delivery.shown)
    else:
        click.echo(f"set-password link sent by SMS to {masked(phone or '')}")


@click.command("list")
@with_appcontext
@click.option("--area", "area_code", default=None, help="Accounts of this area and below it.")
@click.option("--role", default=None, callback=_role, help="One of: " + ", ".join(Role))
@click.option("--state", type=click.Choice([s.value for s in AccountState]), default=None)
@click.option("--search", default=None, help="Part of the username.")
def users_list(
    area_code: str | None, role: Role | None, state: str | None, search: str | None
) -> None:
    """Print the accounts as a table (at most 500; narrow with the options)."""
    wanted = AccountFilter(area_code, role, AccountState(state) if state else None, search)
    with unit_of_work() as session:
        rows = [
            (
                u.username,
                u.role_value,
                u.area_code,
                "active" if u.is_active else "disabled",
                "yes" if u.phone else "no",
            )
            for u in list_accounts(session, _Console(), wanted)
        ]
    if not rows:
        click.echo("no account matches")
        return
    click.echo(_table(("username", "role", "area", "state", "phone"), rows))


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("set-role")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True, callback=_role, help="One of: " + ", ".join(Role))
@click.option("--area", "area_code", required=True, help="The area code the role is tied to.")
def users_set_role(username: str, role: Role, area_code: str) -> None:
    """Give USERNAME another role and area (audited with the old and new values)."""
    try:
        with unit_of_work() as session:
            user = _account(session, username)
            changed = change_role_and_area(session, user, role, area_code, operator())
            shown = f"{user.username}: {user.role_value}, {user.area_code}"
    except AccountError as exc:
        raise _refused(exc) from None
    click.echo(shown if changed else f"{shown} (unchanged)")


COMMANDS = (users_disable, users_enable, users_reset_password, users_list, users_set_role)
