"""`/status`: a family types its reference, receives a code by SMS, and with it sees its status.

Public and without JavaScript or a session: the reference travels in a hidden field of the
code's form, and the code is the credential (core/status_codes.py), so the forms carry no
CSRF token. Until the code is right the page answers every reference alike, known or not.
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from markupsafe import Markup

from core.clock import beirut_today
from core.notifications import dispatch
from core.references import grouped, parse_reference
from core.settings import Settings
from core.status_codes import (
    LIFETIME,
    MAX_TYPED,
    Throttled,
    count_ask,
    open_with_code,
    parse_code,
    send_code,
)
from core.users import LANGUAGES
from distribution.citizen_status import CitizenStatus, citizen_status
from texts.status_page import PROBLEMS, Problem, code_sms, eligibility_words, selection_words
from web import store

bp = Blueprint("status", __name__, template_folder="templates")

LAYOUT = "form/citizen_layout.html"
STATUS_OF = {Problem.THROTTLED: 429}  # any other problem: 400


@bp.before_request
def _language() -> None:
    """`?lang=` (or the forms' hidden `lang`) picks the page's language; Arabic otherwise."""
    chosen = request.values.get("lang", "")
    if chosen in LANGUAGES:
        g.page_language = chosen


def _settings() -> Settings:
    settings: Settings = current_app.config["INTAKE_SETTINGS"]
    return settings


def _address() -> str:
    """The client's address (behind PROXY_HOPS proxies, the one they saw: ProxyFix)."""
    return request.remote_addr or "unknown"


def _page(step: str, problem: Problem | None = None, **values: object) -> ResponseReturnValue:
    page = render_template(
        "status/page.html",
        layout=LAYOUT,
        step=step,
        problem=PROBLEMS[problem] if problem else None,
        minutes=int(LIFETIME.total_seconds() // 60),
        **values,
    )
    if problem is None:
        return page
    return page, STATUS_OF.get(problem, 400)


@bp.get("/status")
def ask() -> ResponseReturnValue:
    return _page("ask")


@bp.post("/status")
def answer() -> ResponseReturnValue:
    """A reference alone asks for a code; a reference with a code opens the status."""
    typed = request.form.get("reference", "")
    if "code" in request.form:
        return _open(typed, request.form.get("code", ""))
    return _send(typed)


def _well_formed(typed: str) -> str | Problem:
    """The reference's ten digits, or what is wrong with it; the address's count is kept."""
    reference = parse_reference(typed) if len(typed) <= MAX_TYPED else None
    if reference is not None:
        return reference
    try:
        count_ask(store.db(), _address())
    except Throttled:
        return Problem.THROTTLED
    finally:
        store.commit()
    return Problem.NO_REFERENCE if not typed.strip() else Problem.BAD_REFERENCE


def _send(typed: str) -> ResponseReturnValue:
    reference = _well_formed(typed)
    if isinstance(reference, Problem):
        return _page("ask", reference, typed=typed[:MAX_TYPED])
    session = store.db()
    try:
        owed = send_code(session, reference, _address(), _settings().secret_key, code_sms)
    except Throttled:
        store.commit()  # the count is kept
        return _page("ask", Problem.THROTTLED, typed=typed[:MAX_TYPED])
    store.commit()
    dispatch(current_app.extensions["intake.jobs"], owed, new=True)
    return _page("code", reference=reference, shown=grouped(reference))


def _open(typed: str, typed_code: str) -> ResponseReturnValue:
    reference = _well_formed(typed)
    if isinstance(reference, Problem):
        return _page("ask", reference, typed=typed[:MAX_TYPED])
    code = parse_code(typed_code)
    session = store.db()
    try:
        application = open_with_code(session, reference, code, _address(), _settings().secret_key)
    except Throttled:
        store.commit()
        return _page("code", Problem.THROTTLED, reference=reference, shown=grouped(reference))
    if application is None:
        store.commit()
        problem = Problem.WRONG_CODE if code is not None else Problem.BAD_CODE
        return _page("code", problem, reference=reference, shown=grouped(reference))
    status = citizen_status(session, application)
    store.commit()
    return _status_page(status)


def _status_page(status: CitizenStatus) -> ResponseReturnValue:
    voucher = status.voucher
    return _page(
        "status",
        status=status,
        shown=grouped(status.reference),
        check_digit=status.reference[-1],
        today=format_date(beirut_today(), "long"),
        day=lambda d: format_date(d, "long") if d else "",
        eligibility=eligibility_words(status),
        selection=selection_words(status),
        voucher=voucher,
        voucher_code=grouped(voucher.code) if voucher else "",
        qr=_qr_svg(voucher.token) if voucher else "",
    )


@functools.lru_cache(maxsize=2048)
def _qr_svg(token: str) -> Markup:
    """The voucher's token as an inline SVG QR code (no image request; the page prints).

    Kept per process: choosing the best mask is most of a view's CPU, and a family that looks
    again (or prints) has the same voucher."""
    import segno

    svg = segno.make(token, error="m").svg_inline(scale=3, omitsize=False)
    return Markup(svg)  # noqa: S704 - segno's own markup of an ASCII token
