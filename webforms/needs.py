"""Weekly reports of needs, and the reminder job's SMS."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

from core.roles import Permission
from web.auth import staff_required

bp = Blueprint("needs", __name__, template_folder="templates")


@bp.get("/console/needs")
@staff_required(Permission.VIEW_REPORTS)
def index() -> ResponseReturnValue:
    abort(404)  # being built (issue 7)
