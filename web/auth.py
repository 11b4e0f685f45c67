"""Staff sign-in and sign-out, their own password, the pledge gate, the access decorator."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_time
from flask_babel import gettext as _

from core import second_factor
from core.db import utcnow
from core.passwords import PasswordProblem
from core.roles import Permission, can
from core.users import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    PasswordRefused,
    SignInRefused,
    StaffUser,
    accept_pledge,
    authenticate,
    change_own_password,
    sign_out,
    user_by_id,
)
from web import store
from web.i18n import safe_next

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])

MAX_FIELD = 300  # longer input is not a username or password anyone typed
PENDING_CODE = timedelta(minutes=5)  # between a right password and its code
# Pages a signed-in user may open before accepting the pledge.
_BEFORE_PLEDGE = {
    "auth.pledge",
    "auth.sign_out",
    "auth.sign_in",
    "i18n.choose",
    "health.healthz",
    "health.livez",
    "help.page",  # the support numbers, for whoever is stuck before the pledge
}


def init_auth(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_load_user)
    app.before_request(_require_pledge)


def _load_user() -> None:
    """The signed-in user, if the cookie's epoch is still current (sign-out ends it)."""
    g.user = None
    user_id, epoch = session.get("uid"), session.get("epoch")
    if not isinstance(user_id, int) or not isinstance(epoch, int):
        return
    user = user_by_id(store.db(), user_id)
    if user is None or user.session_epoch != epoch:
        session.pop("uid", None)
        return
    g.user = user


def _require_pledge() -> ResponseReturnValue | None:
    user: StaffUser | None = g.get("user")
    exempt = request.endpoint in _BEFORE_PLEDGE or request.endpoint == "static"
    if user is not None and user.needs_pledge and not exempt:
        return redirect(url_for("auth.pledge", next=request.full_path.rstrip("?")))
    return None


def staff_required(permission: Permission | None = None) -> Callable[[F], F]:
    """Signed-in staff only (with the pledge accepted); with a permission, that too."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            user: StaffUser | None = g.get("user")
            if user is None:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            if permission is not None and not can(user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    if g.get("user") is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("sign_in.html", error=None, username="")
    username = request.form.get("username", "")[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    if not username.strip() or not password:
        return _refused(_("Enter your username and password."), username)
    try:
        user = authenticate(store.db(), username, password, request.remote_addr or "unknown")
    except SignInRefused as refused:
        store.commit()  # keep the count of failures
        if refused.retry_at is not None:
            return _throttled(refused.retry_at, username)
        return _refused(_("The username or password is not correct."), username)
    store.commit()
    target = safe_next(request.args.get("next"))
    if second_factor.is_confirmed(store.db(), user.id):
        return _second_step(user, target)
    start_session(user)
    if second_factor.required_for(user.role):  # enrol first (after the pledge): web/second_factor
        return redirect(url_for("second_factor.enrol", next=target))
    return redirect(target)


def start_session(user: StaffUser, second_factor: bool = False) -> None:
    """A fresh session at sign-in: nothing carried over from before (nor a pending step)."""
    session.clear()
    session.permanent = True
    session.update(uid=user.id, epoch=user.session_epoch, lang=user.language)
    if second_factor:
        session["factor"] = True  # this session passed a code: the enrolment gate lets it by


def _second_step(user: StaffUser, target: str) -> ResponseReturnValue:
    """The password was right; not signed in until a code is given on the next page."""
    session.clear()
    until = utcnow() + PENDING_CODE
    session["pending"] = {"uid": user.id, "epoch": user.session_epoch, "until": until.timestamp()}
    session["lang"] = user.language
    return redirect(url_for("second_factor.code", next=target))


def _refused(message: str, username: str) -> ResponseReturnValue:
    return render_template("sign_in.html", error=message, username=username[:40]), 401


def _throttled(retry_at: datetime, username: str) -> ResponseReturnValue:
    """429 with the Beirut time from which this address may try again (and Retry-After)."""
    page = render_template("sign_in.html", error=wait_text(retry_at), username=username[:40])
    return page, 429, retry_after(retry_at)


def wait_text(retry_at: datetime) -> str:
    return _(
        "Too many failed attempts from here. Try again after %(time)s.",
        time=format_time(retry_at, "short"),
    )


def retry_after(retry_at: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil((retry_at - utcnow()).total_seconds())))}


@bp.route("/account/password", methods=["GET", "POST"])  # the address of the first version
@bp.route("/console/password", methods=["GET", "POST"])  # registered first: url_for's choice
@staff_required()
def change_password() -> ResponseReturnValue:
    """A member of staff changes their own password; their other sessions end."""
    if request.method == "GET":
        return _password_page()
    user: StaffUser = g.user
    current, new = (request.form.get(name, "")[:MAX_FIELD] for name in ("current", "new"))
    if new != request.form.get("repeat", "")[:MAX_FIELD]:
        return _password_page(_("The two new passwords are not the same."), 400)
    try:
        change_own_password(store.db(), user, current, new, request.remote_addr or "unknown")
    except PasswordRefused as refused:
        return _password_page(_problem_text(refused.reason), 400)
    except SignInRefused as refused:
        store.commit()  # keep the count of failures
        if refused.retry_at is not None:
            return _password_page(wait_text(refused.retry_at), 429, retry_after(refused.retry_at))
        return _password_page(_("Your current password is not correct."), 400)
    store.commit()
    session["epoch"] = user.session_epoch  # this browser stays signed in; every other one is out
    return _password_page(done=True)


def _password_page(
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    done: bool = False,
) -> ResponseReturnValue:
    page = render_template("account_password.html", error=error, done=done, shortest=MIN_PASSWORD)
    return page, status, headers or {}


def _problem_text(problem: PasswordProblem) -> str:
    """Why the new password was refused, in the user's language."""
    texts = {
        PasswordProblem.TOO_SHORT: _(
            "The new password must be at least %(count)s characters.", count=MIN_PASSWORD
        ),
        PasswordProblem.TOO_LONG: _(
            "The new password must be at most %(count)s characters.", count=MAX_PASSWORD
        ),
        PasswordProblem.REPEATED: _(
            "The new password must not be one character or a short group of characters repeated."
        ),
        PasswordProblem.HAS_USERNAME: _("The new password must not contain your username."),
        PasswordProblem.COMMON: _(
            "This password is one of the most common passwords. Choose another one."
        ),
    }
    return texts[problem]


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_view() -> ResponseReturnValue:
    user: StaffUser | None = g.get("user")
    if user is not None:
        sign_out(store.db(), user)
        store.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.sign_in"))


@bp.route("/pledge", methods=["GET", "POST"])
def pledge() -> ResponseReturnValue:
    """Circular part 6, item 1: shown on first sign-in, accepted before anything else opens."""
    user: StaffUser | None = g.get("user")
    if user is None:
        return redirect(url_for("auth.sign_in"))
    target = safe_next(request.args.get("next"))
    if request.method == "POST":
        if request.form.get("accept") != "yes":
            return render_template(
                "pledge.html", error=_("Tick the box to accept the pledge."), next=target
            ), 400
        accept_pledge(store.db(), user)
        store.commit()
        return redirect(target)
    if not user.needs_pledge:
        return redirect(target)
    return render_template("pledge.html", error=None, next=target)
