"""`/console/forms/blank`: the household form on paper, for a family with no phone.

The focal point prints it, the family fills it in by hand, and the focal point types it in
through assisted entry; so the page is for those who may enter forms on a caller's behalf.
It holds no family's data: nothing to scope, and its audit event names no one.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template
from flask.typing import ResponseReturnValue

from core import audit
from core.form_outline import Kind, outline
from core.roles import Permission
from texts import forms as form_text
from web import store
from web.auth import staff_required

bp = Blueprint("blank_form", __name__, template_folder="templates")


@bp.get("/console/forms/blank")
@staff_required(Permission.ENTER_APPLICATIONS)
def page() -> ResponseReturnValue:
    """Every page and field of the form, in the viewer's language, one printed sheet a page."""
    session = store.db()
    # How many paper forms each account takes out, as the console's other work is counted.
    audit.record(session, g.user.username, "form.blank_printed", "form", "household")
    session.commit()
    return render_template(
        "form/blank.html",
        pages=outline(),
        kind=Kind,
        text=form_text,
        layout="form/console_layout.html",
    )
