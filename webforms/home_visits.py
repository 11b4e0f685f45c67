"""Home visits: the ministry draws samples of a municipality's or district's forms, and records
what each visit found.

Thin views over `core.home_visits`. The draw's seed is shown on the sample's page, so anyone
holding the population can replay it. A refused draw or visit writes nothing and comes back
with the reason, as 400 (409 for a visit recorded already).
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from core import audit
from core.geography import District, Locality
from core.home_visits import (
    MAX_NOTE,
    MAX_SAMPLE,
    NotVisiting,
    SampleProblem,
    SampleRefused,
    VisitNoteInvalid,
    VisitRecorded,
    VisitResult,
    VisitSample,
    draw_sample,
    record_visit,
    redraw_matches,
    sample_for,
    samples_visible_to,
    visit_for,
    visits_of,
)
from core.phones import masked
from core.references import grouped
from core.roles import Permission
from web import store
from web.auth import staff_required

bp = Blueprint("visits", __name__, template_folder="templates")

ID = "int(max=2147483647)"

RESULTS = {
    VisitResult.CONFIRMED: _l("Confirmed: the family and its form match"),
    VisitResult.DIFFERENT: _l("Different: something does not match"),
    VisitResult.NOT_FOUND: _l("Not found at the address"),
}
PROBLEMS = {
    SampleProblem.UNKNOWN_AREA: _l("No municipality or district has this code."),
    SampleProblem.WRONG_LEVEL: _l("Choose a municipality or a district, not a governorate."),
    SampleProblem.NO_SIZE: _l("Give either a number of forms or a percentage."),
    SampleProblem.SIZE_RANGE: _l("A sample holds from 1 to %(max)s forms."),
    SampleProblem.PERCENT_RANGE: _l("A percentage is a whole number from 1 to 100."),
    SampleProblem.EMPTY_AREA: _l("This area has no form to visit."),
    SampleProblem.MORE_THAN_POPULATION: _l(
        "The area has only %(population)s forms: the sample cannot be larger."
    ),
}
NOT_A_NUMBER = _l("The number of forms or the percentage must be a whole number.")
RECORDED = _l("This visit's result is recorded already; it is never changed.")
NOTE_NEEDED = _l("Say what was different (at most %(max)s characters).")


@bp.route("/console/visits", methods=["GET", "POST"])
@staff_required(Permission.HOME_VISITS)
def index() -> ResponseReturnValue:
    """The samples drawn so far with their progress, and the form to draw one."""
    if request.method == "GET":
        return _index_page()
    session = store.db()
    try:
        size, percent = _amount()
        sample = draw_sample(session, g.user, _area_code(), size=size, percent=percent)
    except SampleRefused as refused:
        session.rollback()
        params = {"max": MAX_SAMPLE, **refused.params}
        return _index_page(str(PROBLEMS[refused.problem]) % params, 400)
    except ValueError:
        session.rollback()
        return _index_page(str(NOT_A_NUMBER), 400)
    session.commit()
    return redirect(url_for("visits.sample", sample_id=sample.id))


def _area_code() -> str:
    return request.form.get("area", "")[:16].strip()


def _amount() -> tuple[int | None, int | None]:
    """The size or the percentage typed; ValueError when it is not a small whole number."""
    text = request.form.get("amount", "").strip()
    if not text:
        return None, None
    if not text.isdigit() or len(text) > 6:  # also refuses "-1", "1e9" and Arabic fractions
        raise ValueError(text)
    amount = int(text)
    return (None, amount) if request.form.get("unit") == "percent" else (amount, None)


def _index_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    rows = samples_visible_to(store.db(), g.user)
    return render_template(
        "visits/index.html",
        rows=rows,
        names=_area_names([s.area_code for s, _done, _total in rows]),
        error=error,
        form=request.form,
        max_sample=MAX_SAMPLE,
    ), status


def _area_names(codes: list[str]) -> dict[str, str]:
    """Each area's name in the page's language (Arabic names for Arabic, else English)."""
    arabic = str(get_locale()) == "ar"
    names = {}
    for code in set(codes):
        place = store.db().get(Locality, code) or store.db().get(District, code)
        if place is not None:
            names[code] = place.name_ar if arabic else place.name_en
    return names


def _sample(sample_id: int) -> VisitSample:
    found = sample_for(store.db(), g.user, sample_id)
    if found is None:
        abort(404)
    return found


@bp.get(f"/console/visits/<{ID}:sample_id>")
@staff_required(Permission.HOME_VISITS)
def sample(sample_id: int) -> ResponseReturnValue:
    """The sample's families in drawn order, each with its visit or the form to record it."""
    return _sample_page(_sample(sample_id))


def _sample_page(
    found: VisitSample, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    session, user = store.db(), g.user
    rows = visits_of(session, user, found)
    audit.record(session, user.username, "sample.viewed", "sample", str(found.id))
    session.commit()
    localities = _area_names([v.locality_code for v, _a in rows if v.locality_code])
    return render_template(
        "visits/sample.html",
        sample=found,
        rows=rows,
        done=sum(1 for visit, _a in rows if visit.result),
        names=_area_names([found.area_code]) | localities,
        replays=redraw_matches(session, found),
        results=RESULTS,
        error=error,
        max_note=MAX_NOTE,
        masked=masked,
        grouped=grouped,
        recorded=request.args.get("recorded"),
    ), status


@bp.post(f"/console/visits/<{ID}:sample_id>/<{ID}:visit_id>")
@staff_required(Permission.HOME_VISITS)
def record(sample_id: int, visit_id: int) -> ResponseReturnValue:
    """One visit's result, once."""
    session, found = store.db(), _sample(sample_id)
    visit = visit_for(session, g.user, visit_id)
    if visit is None or visit.sample_id != found.id:
        abort(404)
    try:
        result = VisitResult(request.form.get("result", ""))
    except ValueError:
        return _sample_page(found, str(_l("Choose what the visit found.")), 400)
    try:
        record_visit(session, g.user, visit, result, request.form.get("note", "")[: MAX_NOTE + 1])
    except VisitRecorded:
        session.rollback()
        return _sample_page(found, str(RECORDED), 409)
    except VisitNoteInvalid:
        session.rollback()
        return _sample_page(found, str(NOTE_NEEDED) % {"max": MAX_NOTE}, 400)
    except NotVisiting:
        abort(404)
    session.commit()
    return redirect(url_for("visits.sample", sample_id=found.id, recorded=visit.id))
