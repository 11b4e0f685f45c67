"""The admin's page of staff accounts (`/console/users`): find, create, disable, reset.

Thin views over `core.account_admin` and `core.password_resets`. A new account gets no
password typed by the admin: it gets a set-password link, by SMS to its phone or shown once
on the page, as a reset does. Every action is a POST that redirects back with what was done
(`?done=`), so a reload never repeats it; a shown link is the one answer that is not
redirected, and it is never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from core.account_admin import (
    AccountFilter,
    AccountState,
    LastAdmin,
    UnknownArea,
    WrongLevel,
    change_role_and_area,
    disable_user,
    enable_user,
    list_accounts,
    resolve_area_for,
)
from core.notifications import dispatch
from core.password_resets import FIRST_LIFETIME, Delivery, Sender, SmsRefused, issue_link
from core.phones import NotLebaneseMobile, masked, normalise_desk_phone, normalise_mobile
from core.roles import Permission, Role
from core.scopes import covers
from core.users import USERNAME, AccountError, StaffUser, add_user, generate_password, set_phone
from texts.sms import compose
from web import store
from web.auth import staff_required
from webforms.console import ROLE_LABELS

bp = Blueprint("staff_accounts", __name__, template_folder="templates")
MAX_FIELD = 60

DONE = {
    "disabled": _l("The account is disabled; its open sessions have ended."),
    "enabled": _l("The account is enabled again."),
    "already": _l("Nothing changed: the account was already so."),
    "role": _l("The role and area are changed."),
    "phone": _l("The phone is saved."),
    "sent": _l("A set-password link was sent by SMS to the account's phone."),
}
PROBLEMS = {
    "last_admin": _l(
        "This is the last active administrator: it cannot be disabled or given another role."
    ),
    "unknown_area": _l("No area has this code. Type a locality, district or governorate code."),
    "wrong_level": _l("This role is tied to another level of area."),
    "username": _l(
        "The username must be 3 to 40 characters: lowercase letters, digits, '.', '_' or '-'."
    ),
    "taken": _l("This username is taken."),
    "role_invalid": _l("Choose a role from the list."),
    "phone": _l("This is not a Lebanese mobile number."),
    "sms_refused": _l(
        "The account's phone does not take SMS from 1766 now (it sent STOP). "
        "Tick “show the link here” to give it in person."
    ),
}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "role_labels": ROLE_LABELS,
        "roles": list(Role),
        "masked": masked,
        "problem_texts": PROBLEMS,
    }


def link_sender() -> Sender:
    """What delivering a set-password link needs from this process (shared by the pages)."""
    settings = current_app.config["INTAKE_SETTINGS"]
    return Sender(settings.secret_key, settings.public_base_url, compose)


@bp.get("/console/users")
@staff_required(Permission.MANAGE_USERS)
def index() -> ResponseReturnValue:
    """The accounts, narrowed by area, role, state and part of the username."""
    args = {k: request.args.get(k, "")[:MAX_FIELD].strip() for k in ("area", "role", "state", "q")}
    role = Role(args["role"]) if args["role"] in set(Role) else None
    state = AccountState(args["state"]) if args["state"] in set(AccountState) else None
    wanted = AccountFilter(args["area"] or None, role, state, args["q"] or None)
    users = list_accounts(store.db(), g.user, wanted)
    return render_template("users/index.html", users=users, args=args, new={}, problems={})


@bp.post("/console/users/new")
@staff_required(Permission.MANAGE_USERS)
def create() -> ResponseReturnValue:
    """One account; its password is set by its owner through a link (no typed password)."""
    form = {
        k: request.form.get(k, "")[:MAX_FIELD].strip()
        for k in ("username", "role", "area", "phone")
    }
    session = store.db()
    problems, role, phone = _new_account_problems(form)
    if not problems and role is not None:
        try:
            user = add_user(
                session, form["username"], role, form["area"], generate_password(), g.user.username
            )
            if phone:
                set_phone(session, user, phone, g.user.username)
            delivery = issue_link(
                session,
                user,
                g.user.username,
                link_sender(),
                show="show" in request.form,
                lifetime=FIRST_LIFETIME,
            )
        except (AccountError, SmsRefused) as exc:
            session.rollback()
            problems = {"username": _problem_key(exc)}
    if problems:
        users = list_accounts(session, g.user, AccountFilter())
        page = render_template(
            "users/index.html", users=users, args={}, new=form, problems=problems
        )
        return page, 400
    return _delivered(user, delivery)


def _new_account_problems(form: dict[str, str]) -> tuple[dict[str, str], Role | None, str | None]:
    problems: dict[str, str] = {}
    if not USERNAME.fullmatch(form["username"].lower()):
        problems["username"] = "username"
    role = Role(form["role"]) if form["role"] in set(Role) else None
    if role is None:
        problems["role"] = "role_invalid"
    else:
        try:
            resolve_area_for(store.db(), role, form["area"])
        except UnknownArea:
            problems["area"] = "unknown_area"
        except WrongLevel:
            problems["area"] = "wrong_level"
    phone = None
    try:
        phone = normalise_mobile(form["phone"]) if form["phone"] else None
    except NotLebaneseMobile:
        problems["phone"] = "phone"
    return problems, role, phone


def _problem_key(exc: Exception) -> str:
    if isinstance(exc, SmsRefused):
        return "sms_refused"
    if isinstance(exc, LastAdmin):
        return "last_admin"
    return "taken" if "taken" in str(exc) else "username"


def _delivered(user: StaffUser, delivery: Delivery) -> ResponseReturnValue:
    """Commit, then send; a shown link is on this answer only (never cached, never logged)."""
    store.commit()
    dispatch(current_app.extensions["intake.jobs"], delivery.to_dispatch, new=True)
    if delivery.shown is None:
        return redirect(url_for("staff_accounts.account", user_id=user.id, done="sent"))
    page = render_template(
        "users/link_shown.html", user=user, link=delivery.shown, reset=delivery.reset
    )
    return page, 200, {"Cache-Control": "no-store"}


def _managed(user_id: int) -> StaffUser:
    """The account of the address, if this admin manages it (404 otherwise: ids are not told)."""
    user = store.db().get(StaffUser, user_id)
    if user is None or not covers(g.user, user, Permission.MANAGE_USERS):
        abort(404)
    return user


@bp.get("/console/users/<int:user_id>")
@staff_required(Permission.MANAGE_USERS)
def account(user_id: int, problem: str | None = None) -> ResponseReturnValue:
    """One account: what it is, and what can be done to it."""
    user = _managed(user_id)
    done = DONE.get(request.args.get("done", ""))
    page = render_template(
        "users/account.html", user=user, done=done, problem=PROBLEMS.get(problem or "")
    )
    return page, 400 if problem else 200


@bp.post("/console/users/<int:user_id>/disable")
@staff_required(Permission.MANAGE_USERS)
def disable(user_id: int) -> ResponseReturnValue:
    user = _managed(user_id)
    try:
        changed = disable_user(store.db(), user, g.user.username)
    except LastAdmin:
        store.db().rollback()
        return account(user_id, "last_admin")
    return _done(user, "disabled" if changed else "already")


@bp.post("/console/users/<int:user_id>/enable")
@staff_required(Permission.MANAGE_USERS)
def enable(user_id: int) -> ResponseReturnValue:
    user = _managed(user_id)
    changed = enable_user(store.db(), user, g.user.username)
    return _done(user, "enabled" if changed else "already")


@bp.post("/console/users/<int:user_id>/reset")
@staff_required(Permission.MANAGE_USERS)
def reset(user_id: int) -> ResponseReturnValue:
    """A one-time set-password link: by SMS, or shown here once."""
    user = _managed(user_id)
    try:
        delivery = issue_link(
            store.db(), user, g.user.username, link_sender(), show="show" in request.form
        )
    except SmsRefused:
        store.db().rollback()
        return account(user_id, "sms_refused")
    return _delivered(user, delivery)


@bp.post("/console/users/<int:user_id>/role")
@staff_required(Permission.MANAGE_USERS)
def role(user_id: int) -> ResponseReturnValue:
    user = _managed(user_id)
    typed = request.form.get("role", "")[:MAX_FIELD]
    if typed not in set(Role):
        return account(user_id, "role_invalid")
    area = request.form.get("area", "")[:MAX_FIELD]
    try:
        changed = change_role_and_area(store.db(), user, Role(typed), area, g.user.username)
    except (UnknownArea, WrongLevel, LastAdmin) as exc:
        store.db().rollback()
        key = {UnknownArea: "unknown_area", WrongLevel: "wrong_level"}.get(type(exc), "last_admin")
        return account(user_id, key)
    return _done(user, "role" if changed else "already")


@bp.post("/console/users/<int:user_id>/phone")
@staff_required(Permission.MANAGE_USERS)
def phone(user_id: int) -> ResponseReturnValue:
    """The account's phone: where its set-password links go (and *take next call* rings)."""
    user = _managed(user_id)
    typed = request.form.get("phone", "")[:MAX_FIELD].strip()
    try:
        number = normalise_desk_phone(typed) if typed else None
    except NotLebaneseMobile:
        return account(user_id, "phone")
    set_phone(store.db(), user, number, g.user.username)
    return _done(user, "phone")


def _done(user: StaffUser, what: str) -> ResponseReturnValue:
    store.commit()
    return redirect(url_for("staff_accounts.account", user_id=user.id, done=what))
