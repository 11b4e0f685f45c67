"""`/console/set-password/<token>`: the owner of an account sets its password through the
one-time link an admin issued (core/password_resets.py). No sign-in is needed, and no
JavaScript; a link that is unknown, used, replaced or past its time says so plainly and
sets nothing. Setting the password ends every session of the account.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from core.password_resets import ResetProblem, ResetUnavailable, open_link, use_link
from core.users import MIN_PASSWORD, PasswordRefused
from web import store
from web.auth import MAX_FIELD, _problem_text

bp = Blueprint("set_password", __name__, template_folder="templates")

UNAVAILABLE = {
    ResetProblem.UNKNOWN: _l(
        "This link is not known. Check that it was copied whole, or ask the administrator "
        "for a new one."
    ),
    ResetProblem.USED: _l(
        "This link has been used already, or a newer link replaced it. Ask the administrator "
        "for a new one if you need it."
    ),
    ResetProblem.EXPIRED: _l("This link has expired. Ask the administrator for a new one."),
    ResetProblem.THROTTLED: _l(
        "Too many wrong links from here. Wait a few minutes before trying again."
    ),
}
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/console/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> ResponseReturnValue:
    """The form (GET) and the new password (POST); the link is checked both times."""
    address = request.remote_addr or "unknown"
    session = store.db()
    try:
        _reset, user = open_link(session, token[:80], address)
    except ResetUnavailable as gone:
        store.commit()  # keep the count of wrong links
        return _page(
            unavailable=str(UNAVAILABLE[gone.problem]),
            status=410 if gone.problem in (ResetProblem.USED, ResetProblem.EXPIRED) else 404,
        )
    if request.method == "GET":
        return _page(username=user.username)
    new = request.form.get("new", "")[:MAX_FIELD]
    if new != request.form.get("repeat", "")[:MAX_FIELD]:
        return _page(
            username=user.username, error=_l("The two new passwords are not the same."), status=400
        )
    try:
        use_link(session, token[:80], new, address)
    except PasswordRefused as refused:
        session.rollback()
        return _page(username=user.username, error=_problem_text(refused.reason), status=400)
    store.commit()
    return _page(username=user.username, done=True)


def _page(
    username: str = "",
    error: object = None,
    unavailable: str | None = None,
    done: bool = False,
    status: int = 200,
) -> ResponseReturnValue:
    page = render_template(
        "users/set_password.html",
        username=username,
        error=error,
        unavailable=unavailable,
        done=done,
        shortest=MIN_PASSWORD,
    )
    return page, status, HEADERS
