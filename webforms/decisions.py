"""Decisions of every level and ministries' circulars: recorded, published, read within scope.

Thin views over `core.decisions`. Who reads what (decided for issue 7, widened for issue 17):
every signed-in member of staff reads the circulars; staff with the reports permission also
read the decisions of their area (a focal point its municipality's, a qaimaqam the district's
and its municipalities', ...) and those of the district and governorate above it, each marked
with who issued it.
Anyone, signed in or not, reads the circulars at `/circulars`, in the language the visitor
chose (Arabic by default), like the citizen's pages. A refused form writes nothing (the
request's transaction is rolled back) and comes back filled in, with the reasons, as 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.decisions import (
    MAX_TEXT,
    MAX_TITLE,
    UNTIL_BEFORE_FROM,
    Decision,
    DecisionCategory,
    DecisionDraft,
    DecisionInvalid,
    DecisionKind,
    NotAnIssuer,
    circular_by_id,
    circulars,
    clean_decision,
    decision_for,
    decisions_visible_to,
    publish_circular,
    record_decision,
)
from core.fields import FieldError
from core.geography import AreaLevel
from core.roles import Permission, can
from core.users import StaffUser
from texts.forms import error_text
from web import store
from web.auth import staff_required

bp = Blueprint("decisions", __name__, template_folder="templates")

DECISION_ID = "int(max=2147483647)"
Issue = Callable[[Session, StaffUser, DecisionDraft], Decision]  # record, or publish

CATEGORIES = {
    DecisionCategory.CURFEW: _l("Curfew"),
    DecisionCategory.CLOSURE: _l("Closure"),
    DecisionCategory.AID: _l("Aid"),
    DecisionCategory.QUARANTINE: _l("Quarantine"),
    DecisionCategory.OTHER: _l("Other"),
}
KINDS = {
    DecisionKind.MUNICIPAL: _l("Municipal decision"),
    DecisionKind.DISTRICT: _l("District decision"),
    DecisionKind.GOVERNORATE: _l("Governorate decision"),
    DecisionKind.CIRCULAR: _l("Circular"),
}
# The form's heading for each level that records (circular §3.3).
RECORD_HEADINGS = {
    AreaLevel.LOCALITY: _l("Record a decision of your municipality"),
    AreaLevel.DISTRICT: _l("Record a decision of your district"),
    AreaLevel.GOVERNORATE: _l("Record a decision of your governorate"),
}
# The names `core.decisions.MINISTRIES` stores, in the reader's language.
ISSUERS = {
    "Ministry of Social Affairs": _l("Ministry of Social Affairs"),
    "Ministry of Public Health": _l("Ministry of Public Health"),
}
DONE = {
    "recorded": _l("The decision is recorded."),
    "published": _l("The circular is published. Everyone can read it at /circulars."),
}
ERRORS = {UNTIL_BEFORE_FROM: _l("The end date cannot be before the date it takes effect.")}


def issuer_name(decision: Decision) -> str:
    """Who issued it, in the page's language: the municipality, the district (its qaimaqam),
    the governorate (its governor), or the ministry."""
    arabic = str(get_locale()) == "ar"
    if decision.kind == DecisionKind.DISTRICT and decision.district is not None:
        place = decision.district.name_ar if arabic else decision.district.name_en
        return str(_("Qaimaqam of %(place)s", place=place))
    if decision.kind == DecisionKind.GOVERNORATE and decision.governorate is not None:
        place = decision.governorate.name_ar if arabic else decision.governorate.name_en
        return str(_("Governor of %(place)s", place=place))
    if decision.municipality is not None:
        place = decision.municipality.name_ar if arabic else decision.municipality.name_en
        return str(_("Municipality of %(place)s", place=place))
    return str(ISSUERS.get(decision.issuer, decision.issuer))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "categories": CATEGORIES,
        "kinds": KINDS,
        "issuer_name": issuer_name,
        "max_title": MAX_TITLE,
        "max_text": MAX_TEXT,
    }


def _category() -> DecisionCategory | None:
    """The category asked for in the query; anything else shows every category."""
    value = request.args.get("category", "")
    return DecisionCategory(value) if value in CATEGORIES else None


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """Each refused field's sentence, in the page's language."""
    return {e.field: str(ERRORS.get(e.code) or error_text(e)) for e in errors}


# --- the console ----------------------------------------------------------------------------


@bp.get("/console/decisions")
@staff_required()
def index() -> ResponseReturnValue:
    """Decisions in scope and every circular, newest first; the form of those who issue."""
    return _index_page()


def _index_page(errors: dict[str, str] | None = None) -> ResponseReturnValue:
    category = _category()
    return render_template(
        "decisions/index.html",
        rows=decisions_visible_to(store.db(), g.user, category),
        category=category,
        can_record=can(g.user.role, Permission.RECORD_DECISIONS),
        record_heading=RECORD_HEADINGS.get(g.user.area.level, ""),
        can_publish=can(g.user.role, Permission.PUBLISH_CIRCULARS),
        form=request.form if errors else {},
        errors=errors or {},
    ), (400 if errors else 200)


@bp.post("/console/decisions")
@staff_required(Permission.RECORD_DECISIONS)
def record() -> ResponseReturnValue:
    return _issue(record_decision, "recorded")


@bp.post("/console/circulars")
@staff_required(Permission.PUBLISH_CIRCULARS)
def publish() -> ResponseReturnValue:
    return _issue(publish_circular, "published")


def _issue(act: Issue, done: str) -> ResponseReturnValue:
    """Clean, record with its audit event, commit; or the form again with the reasons."""
    session = store.db()
    try:
        decision = act(session, g.user, clean_decision(request.form.to_dict(flat=False)))
    except DecisionInvalid as invalid:
        session.rollback()
        return _index_page(field_errors(invalid.errors))
    except NotAnIssuer:
        abort(403)
    session.commit()
    return redirect(url_for("decisions.show", decision_id=decision.id, done=done))


@bp.get(f"/console/decisions/<{DECISION_ID}:decision_id>")
@staff_required()
def show(decision_id: int) -> ResponseReturnValue:
    """One decision: a circular to anyone signed in; a municipal one only within its scope."""
    decision = decision_for(store.db(), g.user, decision_id)
    if decision is None:
        abort(404)
    done = DONE.get(request.args.get("done", ""))
    return render_template("decisions/show.html", decision=decision, done=done)


# --- the public page: circulars, for everyone -------------------------------------------------


@bp.get("/circulars")
def public_circulars() -> ResponseReturnValue:
    category = _category()
    rows = circulars(store.db(), category)
    return render_template("decisions/circulars.html", rows=rows, category=category)


@bp.get(f"/circulars/<{DECISION_ID}:decision_id>")
def public_circular(decision_id: int) -> ResponseReturnValue:
    circular = circular_by_id(store.db(), decision_id)
    if circular is None:
        abort(404)
    return render_template("decisions/circular.html", decision=circular)
