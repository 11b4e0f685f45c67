"""Weekly reports of needs: the focal point files its municipality's, readers follow their area.

Thin views over `core.needs`. The page shows one week (this one, or `?week=` any of its days);
a focal point's form always files the current week, filing again replaces the figures. Readers
wider than a municipality also see which municipalities of their area have not filed. The
reminder SMS is the job's (`flask --app wsgi needs remind`), not the page's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from core.db import utcnow
from core.geography import AreaLevel, Locality
from core.needs import (
    MAX_COUNT,
    MAX_NEEDS_TEXT,
    BadWeek,
    NeedsInvalid,
    NotAFiler,
    chosen_week,
    clean_needs,
    deadline,
    file_needs,
    filed_late,
    not_filed,
    own_report,
    totals,
    week_of,
    week_reports,
)
from core.roles import Permission, can
from core.users import StaffUser
from texts.forms import error_text
from web import store
from web.auth import staff_required

bp = Blueprint("needs", __name__, template_folder="templates")

WEEK_PROBLEMS = {
    "invalid": _l("Choose the week by one of its days, written YYYY-MM-DD, e.g. 2020-04-13."),
    "future": _l("That week has not begun yet. This week is shown instead."),
    "early": _l("Weekly needs begin in 2020. This week is shown instead."),
}
FIGURES = ("food_parcels", "hygiene_kits", "quarantine_needs", "other_needs")
DEADLINE_FORMAT = "EEEE d MMMM y, HH:mm"  # the weekday says it at a glance: Wednesday, 12:00


def place_name(place: Locality) -> str:
    return place.name_ar if str(get_locale()) == "ar" else place.name_en


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "place_name": place_name,
        "filed_late": filed_late,
        "max_count": MAX_COUNT,
        "max_needs_text": MAX_NEEDS_TEXT,
        "deadline_format": DEADLINE_FORMAT,
    }


@bp.get("/console/needs")
@staff_required(Permission.VIEW_REPORTS)
def index() -> ResponseReturnValue:
    """The week's reports in scope, their totals, who has not filed; the focal point's form."""
    now = utcnow()
    try:
        week = chosen_week(request.args["week"], now) if "week" in request.args else week_of(now)
    except BadWeek as bad:
        return _page(week_of(now), problem=str(WEEK_PROBLEMS[bad.problem]))
    return _page(week)


@bp.post("/console/needs")
@staff_required(Permission.FILE_NEEDS)
def file() -> ResponseReturnValue:
    """File (or file again) this week's report; refused figures write nothing."""
    session = store.db()
    try:
        file_needs(session, g.user, clean_needs(request.form.to_dict(flat=False)), utcnow())
    except NeedsInvalid as invalid:
        session.rollback()
        errors = {e.field: error_text(e) for e in invalid.errors}
        return _page(week_of(utcnow()), errors=errors)
    except NotAFiler:
        abort(403)
    session.commit()
    return redirect(url_for("needs.index", filed="1"))


def _page(
    week: date, problem: str | None = None, errors: dict[str, str] | None = None
) -> ResponseReturnValue:
    session, user, now = store.db(), g.user, utcnow()
    rows = week_reports(session, user, week)
    wide = user.area.level is not AreaLevel.LOCALITY
    this_week = week_of(now)
    filing = (
        _filing(user, this_week, now, errors) if can(user.role, Permission.FILE_NEEDS) else None
    )
    return render_template(
        "needs/index.html",
        week=week,
        week_end=week + timedelta(days=6),
        earlier=week - timedelta(days=7),
        later=week + timedelta(days=7) if week < this_week else None,
        due=deadline(week),
        rows=rows,
        totals=totals([report for report, _place in rows]),
        missing=not_filed(session, user, week) if wide else None,
        filing=filing,
        problem=problem,
        errors=errors or {},
        filed=request.args.get("filed"),
    ), (400 if problem or errors else 200)


def _filing(
    user: StaffUser, this_week: date, now: datetime, errors: dict[str, str] | None
) -> dict[str, Any]:
    """The form: this week, its deadline, and what is filed already (or what was refused)."""
    filed = own_report(store.db(), user, this_week)
    if errors:
        values = {name: request.form.get(name, "") for name in FIGURES}
    else:
        values = {name: getattr(filed, name) if filed else "" for name in FIGURES}
    due = deadline(this_week)
    return {"week": this_week, "due": due, "passed": now > due, "report": filed, "form": values}
