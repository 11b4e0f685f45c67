"""COVID-19 case reports, follow-ups and quarantine centres."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

from core.roles import Permission
from web.auth import staff_required

bp = Blueprint("cases", __name__, template_folder="templates")


@bp.get("/console/cases")
@staff_required(Permission.VIEW_REPORTS)
def index() -> ResponseReturnValue:
    abort(404)  # being built (issue 7)
