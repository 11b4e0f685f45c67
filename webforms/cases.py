"""COVID-19 case reports, follow-ups and quarantine centres in the console.

Thin views over `core.case_reports`, `core.case_reading` and `core.quarantine_centres`: a
refused form answers 400 with its messages and what was typed, and nothing of it is kept (the
request's transaction is rolled back unless the view commits). Opening a case whose contact
details the page shows is on the record, like every look at personal data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from core import audit
from core.case_reading import (
    CaseLine,
    case_counts,
    case_for,
    cases_visible_to,
    events_of,
    may_follow_up,
    shows_details,
)
from core.case_reports import record_event, report_case
from core.covid_cases import CaseClosed, CaseStatus, HealthInvalid
from core.quarantine_centres import add_centre, centre_for, centres_of, centres_visible_to
from core.quarantine_centres import update_centre as update_figures
from core.roles import Permission, can
from texts import cases as text
from web import store
from web.auth import staff_required

bp = Blueprint("cases", __name__, template_folder="templates")

ID = "int(max=2147483647)"  # larger ids are no record's, and would overflow the store's integer


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """A page of this module, with the words and what the viewer may do."""
    user = g.user
    context.setdefault("form", request.form)
    context.setdefault("errors", {})
    page = render_template(
        f"cases/{template}",
        text=text,
        arabic=str(get_locale()) == "ar",
        can_report=can(user.role, Permission.REPORT_CASES),
        **context,
    )
    return page, status


def _refused(refused: HealthInvalid) -> dict[str, str]:
    """The refusal's messages; nothing of the refused form is kept."""
    store.db().rollback()
    return text.error_messages(refused.errors)


# --- the list and a new case ---------------------------------------------------------------


@bp.get("/console/cases")
@staff_required(Permission.VIEW_REPORTS)
def index() -> ResponseReturnValue:
    """The cases of the viewer's area, newest first, with the area's counts."""
    chosen = request.args.get("status", "")
    chosen = chosen if chosen in tuple(CaseStatus) else ""
    session = store.db()
    return _render(
        "list.html",
        rows=cases_visible_to(session, g.user, status=chosen or None),
        counts=case_counts(session, g.user),
        chosen=chosen,
    )


@bp.route("/console/cases/new", methods=["GET", "POST"])
@staff_required(Permission.REPORT_CASES)
def new() -> ResponseReturnValue:
    """Report a case of the focal point's municipality."""
    centres = centres_of(store.db(), g.user.area.locality_code)
    if request.method == "GET":
        return _render("new.html", centres=centres)
    try:
        case = report_case(store.db(), g.user, request.form.to_dict(flat=False))
    except HealthInvalid as refused:
        return _render("new.html", 400, centres=centres, errors=_refused(refused))
    store.commit()
    return redirect(url_for("cases.detail", case_id=case.id, reported="1"))


# --- one case and its follow-ups -----------------------------------------------------------


def _case(case_id: int) -> CaseLine:
    return case_for(store.db(), g.user, case_id) or abort(404)


def _detail(line: CaseLine, status: int = 200, **context: Any) -> ResponseReturnValue:
    session, case = store.db(), line.case
    details = shows_details(g.user, case)
    if details and (case.contact_phone or case.notes):
        audit.record(session, g.user.username, "case.viewed", "case", str(case.id))
        session.commit()
    can_follow = may_follow_up(g.user, case)
    return _render(
        "detail.html",
        status,
        line=line,
        events=events_of(session, case),
        details=details,
        can_follow=can_follow,
        centres=centres_of(session, case.locality_code) if can_follow else [],
        **context,
    )


@bp.get(f"/console/cases/<{ID}:case_id>")
@staff_required(Permission.VIEW_REPORTS)
def detail(case_id: int) -> ResponseReturnValue:
    done = request.args.get("reported") or request.args.get("recorded")
    return _detail(_case(case_id), form={}, done=done)


@bp.post(f"/console/cases/<{ID}:case_id>/events")
@staff_required(Permission.REPORT_CASES)
def follow_up(case_id: int) -> ResponseReturnValue:
    """Record a follow-up; a closed case refuses it (409), a bad field answers 400."""
    line = _case(case_id)
    try:
        record_event(store.db(), line.case, g.user, request.form.to_dict(flat=False))
    except HealthInvalid as refused:
        errors = _refused(refused)
        return _detail(_case(case_id), 400, errors=errors)
    except CaseClosed:
        store.db().rollback()
        return _detail(_case(case_id), 409, form={}, closed=text.CASE_CLOSED)
    store.commit()
    return redirect(url_for("cases.detail", case_id=case_id, recorded="1"))


# --- quarantine centres ----------------------------------------------------------------------


def _centres(status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("form", {})
    reporter = can(g.user.role, Permission.REPORT_CASES)
    return _render(
        "centres.html",
        status,
        rows=centres_visible_to(store.db(), g.user),
        own=g.user.area.locality_code if reporter else None,
        done=request.args.get("saved"),
        **context,
    )


@bp.get("/console/centres")
@staff_required(Permission.VIEW_REPORTS)
def centres() -> ResponseReturnValue:
    """The centres of the viewer's area; a municipality's own can be added and updated."""
    return _centres()


@bp.post("/console/centres")
@staff_required(Permission.REPORT_CASES)
def add() -> ResponseReturnValue:
    try:
        add_centre(store.db(), g.user, request.form.to_dict(flat=False))
    except HealthInvalid as refused:
        return _centres(400, form=request.form, errors=_refused(refused))
    store.commit()
    return redirect(url_for("cases.centres", saved="1"))


@bp.route(f"/console/centres/<{ID}:centre_id>", methods=["GET", "POST"])
@staff_required(Permission.REPORT_CASES)
def update(centre_id: int) -> ResponseReturnValue:
    """A centre's beds, occupancy and readiness, by its own municipality."""
    session = store.db()
    centre = centre_for(session, g.user, centre_id, Permission.REPORT_CASES) or abort(404)
    if request.method == "GET":
        figures = {"capacity": str(centre.capacity), "occupancy": str(centre.occupancy)}
        return _render("centre.html", centre=centre, form=figures | {"readiness": centre.readiness})
    try:
        update_figures(session, g.user, centre, request.form.to_dict(flat=False))
    except HealthInvalid as refused:
        return _render("centre.html", 400, centre=centre, errors=_refused(refused))
    store.commit()
    return redirect(url_for("cases.centres", saved="1"))
