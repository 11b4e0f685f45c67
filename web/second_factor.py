"""The second step of sign-in, enrolment in two-factor sign-in, and an admin's reset.

The rules are in core/second_factor.py. After a right password, an account with a factor holds
only a pending state (`web.auth._second_step`) until `/sign-in/code` takes a code or a
recovery code. An account whose role requires a factor and has none is signed in, but every
page sends it to `/console/second-factor` (after the pledge) until it has enrolled: the page
shows the QR code as inline SVG and the secret as text, and works without JavaScript.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask import url_for as url
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from core import second_factor as factors
from core.db import utcnow
from core.roles import Permission
from core.users import StaffUser, user_by_id
from web import store
from web.auth import retry_after, staff_required, start_session, wait_text
from web.i18n import safe_next

bp = Blueprint("second_factor", __name__)
MAX_CODE = 40  # a code is 6 digits, a recovery code 11 characters; spaces allowed
# Pages an account that must enrol may open before it has.
_BEFORE_ENROLMENT = {
    "second_factor.enrol",
    "second_factor.code",
    "auth.pledge",
    "auth.sign_out",
    "auth.sign_in",
    "i18n.choose",
    "health.healthz",
    "health.livez",
    "help.page",  # the support numbers, for whoever is stuck at enrolment
    "static",
}


def init_second_factor(app: Flask) -> None:
    """Register the pages and the enrolment gate (after the pledge's: the pledge comes first)."""
    app.register_blueprint(bp)
    app.before_request(_require_enrolment)


def _key() -> str:
    return str(current_app.config["SECRET_KEY"])


def _require_enrolment() -> ResponseReturnValue | None:
    user: StaffUser | None = g.get("user")
    if user is None or session.get("factor") or not factors.required_for(user.role):
        return None
    if request.endpoint in _BEFORE_ENROLMENT:
        return None
    return redirect(url("second_factor.enrol", next=request.full_path.rstrip("?")))


def _target() -> str:
    return safe_next(request.args.get("next"))


# --- the second step of sign-in ---------------------------------------------------------------


def _pending_user() -> StaffUser | None:
    """The account whose password was just right, while its few minutes last."""
    pending = session.get("pending")
    if not isinstance(pending, dict):
        return None
    uid, epoch, until = pending.get("uid"), pending.get("epoch"), pending.get("until")
    if not isinstance(uid, int) or not isinstance(until, int | float):
        return None
    if datetime.fromtimestamp(until, UTC) <= utcnow():
        return None
    user = user_by_id(store.db(), uid)
    return user if user is not None and user.session_epoch == epoch else None


@bp.route("/sign-in/code", methods=["GET", "POST"])
def code() -> ResponseReturnValue:
    """Six digits from the authenticator app, or one of the recovery codes."""
    user = _pending_user()
    if user is None:
        session.pop("pending", None)
        return redirect(url("auth.sign_in", next=_target()))
    if request.method == "GET":
        return render_template("second_factor_code.html", error=None)
    typed = request.form.get("code", "")[:MAX_CODE]
    try:
        factors.check(store.db(), user, typed, _key())
    except factors.CodeRefused as refused:
        store.commit()  # keep the count of guesses and the audit of the failure
        return _code_refused(refused)
    store.commit()
    start_session(user, second_factor=True)
    return redirect(_target())


def _code_refused(refused: factors.CodeRefused) -> ResponseReturnValue:
    if refused.retry_at is not None:
        page = render_template("second_factor_code.html", error=wait_text(refused.retry_at))
        return page, 429, retry_after(refused.retry_at)
    error = _("This code is not correct, or it was already used. Wait for the next code.")
    return render_template("second_factor_code.html", error=error), 401


# --- enrolment and the account's own factor ---------------------------------------------------


@bp.route("/console/second-factor", methods=["GET", "POST"])
@staff_required()
def enrol() -> ResponseReturnValue:
    """Set up an authenticator app (QR code or the secret typed), confirmed by a first code."""
    user: StaffUser = g.user
    db = store.db()
    if factors.is_confirmed(db, user.id):
        if not session.get("factor"):  # turned on from another browser: sign in again here
            session.clear()
            return redirect(url("auth.sign_in", next=_target()))
        return _status_page()
    if request.method == "GET":
        return _enrol_page()
    try:
        codes = factors.confirm(db, user, request.form.get("code", "")[:MAX_CODE], _key())
    except factors.CodeRefused as refused:
        store.commit()
        if refused.retry_at is not None:
            return _enrol_page(wait_text(refused.retry_at), 429, retry_after(refused.retry_at))
        return _enrol_page(_("This code is not correct. Type the code the app shows now."), 400)
    except factors.FactorError:
        return redirect(url("second_factor.enrol", next=_target()))
    store.commit()
    session["epoch"] = user.session_epoch  # this browser stays signed in; others are out
    session["factor"] = True
    return render_template("second_factor_recovery.html", codes=codes, next=_target())


def _enrol_page(
    error: str | None = None, status: int = 200, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    user: StaffUser = g.user
    secret = factors.enrolment_secret(store.db(), user, _key())
    store.commit()
    page = render_template(
        "second_factor_enrol.html",
        qr=_qr_svg(factors.setup_uri(secret, user.username)),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=factors.required_for(user.role),
        error=error,
        next=_target(),
    )
    return page, status, headers or {}


def _qr_svg(uri: str) -> Markup:
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=4, omitsize=False)
    return Markup(svg)  # noqa: S704 - segno's own markup of an otpauth address


def _status_page(
    error: str | None = None, status: int = 200, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    user: StaffUser = g.user
    page = render_template(
        "second_factor_status.html",
        required=factors.required_for(user.role),
        left=factors.recovery_codes_left(store.db(), user.id),
        error=error,
    )
    return page, status, headers or {}


@bp.post("/console/second-factor/off")
@staff_required()
def turn_off() -> ResponseReturnValue:
    """An optional factor turned off by its owner, with a current code as proof."""
    user: StaffUser = g.user
    if factors.required_for(user.role) or not factors.is_confirmed(store.db(), user.id):
        return redirect(url("second_factor.enrol"))
    try:
        factors.turn_off(store.db(), user, request.form.get("code", "")[:MAX_CODE], _key())
    except factors.CodeRefused as refused:
        store.commit()
        if refused.retry_at is not None:
            return _status_page(wait_text(refused.retry_at), 429, retry_after(refused.retry_at))
        return _status_page(_("This code is not correct, or it was already used."), 400)
    store.commit()
    session.pop("factor", None)
    return redirect(url("second_factor.enrol"))


@bp.post("/console/second-factor/recovery-codes")
@staff_required()
def renew_codes() -> ResponseReturnValue:
    """Ten new recovery codes, shown once, for a current code; the old ones stop working."""
    user: StaffUser = g.user
    if not factors.is_confirmed(store.db(), user.id):
        return redirect(url("second_factor.enrol"))
    try:
        codes = factors.renew_recovery_codes(
            store.db(), user, request.form.get("code", "")[:MAX_CODE], _key()
        )
    except factors.CodeRefused as refused:
        store.commit()
        if refused.retry_at is not None:
            return _status_page(wait_text(refused.retry_at), 429, retry_after(refused.retry_at))
        return _status_page(_("This code is not correct, or it was already used."), 400)
    store.commit()
    return render_template("second_factor_recovery.html", codes=codes, next=url("console.home"))


# --- an admin's reset of a lost factor ------------------------------------------------------


@bp.post("/console/users/<int:user_id>/second-factor/reset")
@staff_required(Permission.MANAGE_USERS)
def reset(user_id: int) -> ResponseReturnValue:
    """The account's factor is removed and its sessions end; it enrols again at sign-in."""
    account = store.db().get(StaffUser, user_id)
    if account is None:
        abort(404)
    factors.reset(store.db(), account, g.user.username)
    store.commit()
    if account.id == g.user.id:
        session.clear()  # one's own: signed out like every other session of the account
        return redirect(url("auth.sign_in"))
    done = _(
        "The second factor of %(name)s is reset: the account sets up two-factor sign-in again "
        "at its next sign-in, and its open sessions are ended.",
        name=account.username,
    )
    return render_template("error.html", title=_("Second factor reset"), message=done)
