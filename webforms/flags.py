"""Flags on the municipality's forms: raised by mukhtars and volunteers, reviewed by the focal
point, who sends them to 1766's committee or clears them.

Thin views over `core.flags` and `core.flag_reviews`. A form or flag of another municipality
is answered 404, as if it did not exist. A refused post writes nothing (the request's
transaction is rolled back) and comes back filled in, with the reasons, as 400 (409 when a
flag is open already or was decided already).
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit
from core.applications import Application
from core.clock import beirut_today
from core.correction_changes import Change, CorrectionInvalid, NothingToCorrect, current_values
from core.flag_reviews import (
    FlagDecided,
    NotAReviewer,
    SentAs,
    clean_review,
    clear_flag,
    confirm_flag,
)
from core.flags import (
    MAX_REASON,
    AlreadyFlagged,
    ApplicationFlag,
    FlagInvalid,
    FlagKind,
    FlagStatus,
    NotAFlagger,
    clean_flag,
    flag_for,
    flaggable_application,
    flags_visible_to,
    open_flag_of,
    raise_flag,
    references_of,
)
from core.phones import masked
from core.references import grouped
from core.roles import Permission, can
from texts.forms import error_text, field_label, value_text
from web import store
from web.auth import staff_required

bp = Blueprint("flags", __name__, template_folder="templates")

ID = "int(max=2147483647)"
ROWS = 3  # fields a focal point may name for the committee at once

KINDS = {
    FlagKind.WRONG_DATA: _l("Wrong data"),
    FlagKind.SUSPECTED_FRAUD: _l("Suspected fraud"),
    FlagKind.FAMILY_MOVED: _l("The family moved"),
}
STATUSES = {
    FlagStatus.OPEN: _l("Awaiting the focal point"),
    FlagStatus.CONFIRMED: _l("Sent to 1766"),
    FlagStatus.CLEARED: _l("Cleared"),
}
SENT_AS = {
    SentAs.CORRECTION: _l("A correction request for the committee"),
    SentAs.COMPLAINT: _l("A complaint for the complaint room"),
}
LABELS = {
    "kind": _l("What looks wrong"),
    "reason": _l("Reason"),
    "sent_as": _l("Send it as"),
    "note": _l("Note"),
}
ALREADY_FLAGGED = _l("This form is flagged already: the focal point reviews that flag first.")
ALREADY_DECIDED = _l("This flag has been reviewed already; a flag is reviewed once.")


@bp.app_template_global("may_flag")
def may_flag() -> bool:
    """Whether the signed-in account flags forms (the console's list shows a link)."""
    user = g.get("user")
    return user is not None and can(user.role, Permission.FLAG_APPLICATIONS)


def _messages(refused: FlagInvalid) -> list[str]:
    return [f"{LABELS.get(e.field, e.field)}: {error_text(e)}" for e in refused.errors]


def _application(application_id: int) -> Application:
    found = flaggable_application(store.db(), g.user, application_id)
    if found is None:
        abort(404)
    return found


@bp.route(f"/console/applications/<{ID}:application_id>/flag", methods=["GET", "POST"])
@staff_required(Permission.FLAG_APPLICATIONS)
def new(application_id: int) -> ResponseReturnValue:
    """Flag a form of one's municipality: what looks wrong, and why."""
    application = _application(application_id)
    if request.method == "GET":
        return _flag_form(application)
    session = store.db()
    try:
        flag = raise_flag(session, g.user, application, clean_flag(request.form))
    except FlagInvalid as refused:
        session.rollback()
        return _flag_form(application, _messages(refused), 400)
    except AlreadyFlagged:
        session.rollback()
        return _flag_form(application, [str(ALREADY_FLAGGED)], 409)
    except NotAFlagger:
        abort(404)
    session.commit()
    return redirect(url_for("flags.index", raised=flag.id))


def _flag_form(
    application: Application, errors: list[str] | None = None, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "flags/new.html",
        application=application,
        open_flag=open_flag_of(store.db(), application.id),
        errors=errors or [],
        kinds=KINDS,
        kind=request.form.get("kind", ""),
        reason=request.form.get("reason", "")[: MAX_REASON * 2],
        max_reason=MAX_REASON,
        grouped=grouped,
    ), status


@bp.get("/console/flags")
@staff_required()
def index() -> ResponseReturnValue:
    """The municipality's flags, open ones first (the focal point reviews them from here)."""
    user = g.user
    if not (
        can(user.role, Permission.FLAG_APPLICATIONS) or can(user.role, Permission.REVIEW_FLAGS)
    ):
        abort(403)
    session = store.db()
    rows = flags_visible_to(session, user)
    references = references_of(session, rows)
    return render_template(
        "flags/index.html",
        rows=rows,
        references=references,
        grouped=grouped,
        kinds=KINDS,
        statuses=STATUSES,
        sent_as=SENT_AS,
        reviewer=can(user.role, Permission.REVIEW_FLAGS),
        raised=request.args.get("raised"),
        done=request.args.get("done"),
    )


def _flag(flag_id: int) -> ApplicationFlag:
    found = flag_for(store.db(), g.user, flag_id)
    if found is None:
        abort(404)
    return found


@bp.get(f"/console/flags/<{ID}:flag_id>")
@staff_required(Permission.REVIEW_FLAGS)
def review(flag_id: int) -> ResponseReturnValue:
    """The flag beside the form's current values, and the two ways to answer it."""
    return _review_page(_flag(flag_id))


def _review_page(
    flag: ApplicationFlag, errors: list[str] | None = None, status: int = 200
) -> ResponseReturnValue:
    session, user = store.db(), g.user
    application = session.get_one(Application, flag.application_id)
    audit.record(session, user.username, "application.viewed", "application", str(application.id))
    session.commit()
    return render_template(
        "flags/review.html",
        flag=flag,
        application=application,
        values=current_values(application.pages()),
        field_label=field_label,
        value_text=value_text,
        masked=masked,
        grouped=grouped,
        kinds=KINDS,
        statuses=STATUSES,
        sent_as=SENT_AS,
        rows=ROWS,
        errors=errors or [],
        form=request.form,
        max_reason=MAX_REASON,
    ), status


@bp.post(f"/console/flags/<{ID}:flag_id>/confirm")
@staff_required(Permission.REVIEW_FLAGS)
def confirm(flag_id: int) -> ResponseReturnValue:
    """Send the flag to 1766 as a correction request or a complaint."""
    flag, session = _flag(flag_id), store.db()
    try:
        review_ = clean_review(request.form, clearing=False)
        changes = _posted_changes(flag) if review_.sent_as is SentAs.CORRECTION else []
        confirm_flag(session, g.user, flag, review_, changes, today=beirut_today())
    except FlagDecided:
        session.rollback()
        return _review_page(_flag(flag_id), [str(ALREADY_DECIDED)], 409)
    except FlagInvalid as refused:
        return _refused(flag_id, _messages(refused))
    except CorrectionInvalid as refused:
        messages = [f"{field_label(e.field)}: {error_text(e)}" for e in refused.errors]
        return _refused(flag_id, messages)
    except NothingToCorrect:
        return _refused(flag_id, [_("The new values are the same as the form's.")])
    except NotAReviewer:
        abort(404)
    session.commit()
    return redirect(url_for("flags.index", done="confirmed"))


@bp.post(f"/console/flags/<{ID}:flag_id>/clear")
@staff_required(Permission.REVIEW_FLAGS)
def clear(flag_id: int) -> ResponseReturnValue:
    """Nothing wrong was found: close the flag with the reason."""
    flag, session = _flag(flag_id), store.db()
    try:
        clear_flag(session, g.user, flag, clean_review(request.form, clearing=True).note)
    except FlagDecided:
        session.rollback()
        return _review_page(_flag(flag_id), [str(ALREADY_DECIDED)], 409)
    except FlagInvalid as refused:
        return _refused(flag_id, _messages(refused))
    except NotAReviewer:
        abort(404)
    session.commit()
    return redirect(url_for("flags.index", done="cleared"))


def _refused(flag_id: int, messages: list[str]) -> ResponseReturnValue:
    store.db().rollback()
    return _review_page(_flag(flag_id), messages, 400)


def _posted_changes(flag: ApplicationFlag) -> list[Change]:
    """The named fields; each carries the flag's reason to the committee."""
    changes = []
    for n in range(ROWS):
        field = request.form.get(f"field-{n}", "")[:60]
        if field:
            new_value = request.form.get(f"new-{n}", "")[:300].strip()
            changes.append(Change(field, new_value, flag.reason[:300]))
    return changes
