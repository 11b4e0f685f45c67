"""Links in bulk (`/console/links/bulk`): paste or upload numbers, see every row checked,
confirm, follow the sending on a page that refreshes itself (no JavaScript), download the
outcome of each row.

The page is a thin adapter: reading the upload is `webforms.bulk_upload`, the checks and the
batch are `core.link_batch_checks` / `core.link_batches`, the sending is the job
`Work.SEND_LINK_BATCH` (inline without Redis: the confirmation's request sends it).
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from werkzeug.exceptions import RequestEntityTooLarge

from core.link_batch_checks import NoRows, TooManyRows, store_checked
from core.link_batches import (
    MAX_ROWS,
    BatchState,
    BatchUnavailable,
    LinkBatch,
    Outcome,
    batch_for,
    batches_visible_to,
    confirm,
    progress,
    rows_with_messages,
)
from core.link_lifecycle import OutsideWindow
from core.phones import masked
from core.queue import Work
from core.roles import Permission
from texts import forms as form_text
from web import store
from web.auth import staff_required
from webforms.bulk_outcomes import OUTCOME_LABELS, result_csv
from webforms.bulk_upload import UnreadableUpload, UploadProblem, read_entries

log = logging.getLogger(__name__)
bp = Blueprint("bulk_links", __name__, template_folder="templates")

PROBLEMS_SHOWN = 200  # rows listed on the page; the CSV has them all
REFRESH_SECONDS = 3

UPLOAD_PROBLEMS = {
    UploadProblem.TOO_LARGE: _l("The file is larger than 1 MB. Send at most 5,000 numbers."),
    UploadProblem.ENCODING: _l(
        "The file cannot be read: it is not UTF-8 text. In Excel, save it as "
        "“CSV UTF-8 (comma delimited)” and send it again."
    ),
    UploadProblem.BINARY: _l(
        "This is not a CSV or text file. Save the sheet as CSV, or paste the numbers."
    ),
    UploadProblem.TOO_MANY: _l(
        "There are more than 5,000 numbers. Split them into batches of 5,000 at most."
    ),
    UploadProblem.EMPTY: _l(
        "No number was found. Paste the numbers, one per line, or choose a file."
    ),
}


@bp.route("/console/links/bulk", methods=["GET", "POST"])
@staff_required(Permission.SEND_LINKS)
def start() -> ResponseReturnValue:
    """The form; posted, every row is checked and stored, and nothing is sent yet."""
    if request.method == "GET":
        return _form(None)
    try:
        entries = read_entries(request.form.get("numbers", ""), request.files.get("file"))
        batch = store_checked(store.db(), g.user, _language(), entries)
    except UnreadableUpload as problem:
        return _form(str(UPLOAD_PROBLEMS[problem.problem]))
    except TooManyRows:
        return _form(str(UPLOAD_PROBLEMS[UploadProblem.TOO_MANY]))
    except NoRows:
        return _form(str(UPLOAD_PROBLEMS[UploadProblem.EMPTY]))
    except OutsideWindow:
        store.db().rollback()
        return _form(str(form_text.WINDOW_CLOSED))
    store.db().commit()
    return redirect(url_for("bulk_links.batch_page", batch_id=batch.id))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Past the app's request cap: refused before the body is read, said on the bulk page."""
    body, _status = _form(str(UPLOAD_PROBLEMS[UploadProblem.TOO_LARGE]))
    return body, 413


def _form(error: str | None) -> tuple[str, int]:
    batches = batches_visible_to(store.db(), g.user) if getattr(g, "user", None) else []
    page = render_template(
        "console/bulk_links.html", error=error, batches=batches, max_rows=MAX_ROWS
    )
    return page, (400 if error else 200)


def _language() -> str:
    language = request.form.get("language", "ar")
    return language if language in ("ar", "en", "fr") else "ar"


@bp.get("/console/links/bulk/<int:batch_id>")
@staff_required(Permission.SEND_LINKS)
def batch_page(batch_id: int) -> ResponseReturnValue:
    """Before confirmation: the check's counts and problems. After: the progress."""
    batch = _batch(batch_id)
    counts = progress(store.db(), batch)
    problems = rows_with_messages(store.db(), batch.id, problems_only=True, limit=PROBLEMS_SHOWN)
    return render_template(
        "console/bulk_batch.html",
        batch=batch,
        counts=counts,
        problems=problems,
        labels=OUTCOME_LABELS,
        masked=masked,
        checked=batch.state == BatchState.CHECKED,
        refresh=REFRESH_SECONDS if batch.state != BatchState.CHECKED and not counts.done else None,
        ready=counts.outcomes.get(Outcome.READY, 0),
        shown=PROBLEMS_SHOWN,
    )


@bp.post("/console/links/bulk/<int:batch_id>/confirm")
@staff_required(Permission.SEND_LINKS)
def confirm_batch(batch_id: int) -> ResponseReturnValue:
    """Confirm once; posting again (a double click, a stalled batch) only queues the job again,
    which finds the rows already issued and issues the rest."""
    session = store.db()
    batch = _batch(batch_id)
    confirm(session, g.user, batch)
    session.commit()
    if batch.state == BatchState.SENDING:
        _enqueue(batch.id)
    return redirect(url_for("bulk_links.batch_page", batch_id=batch_id))


def _enqueue(batch_id: int) -> None:
    runner = current_app.extensions["intake.jobs"]
    try:
        runner.enqueue("default", Work.SEND_LINK_BATCH, batch_id, job_id=f"link-batch-{batch_id}")
    except (RedisError, OSError) as exc:  # the batch waits, confirmed: posting again resumes it
        log.warning("link batch %s not queued (%s)", batch_id, type(exc).__name__)


@bp.get("/console/links/bulk/<int:batch_id>.csv")
@staff_required(Permission.SEND_LINKS)
def batch_csv(batch_id: int) -> ResponseReturnValue:
    """Every row's outcome, with the full number (the municipality's own follow-up)."""
    batch = _batch(batch_id)
    return result_csv(batch.id, rows_with_messages(store.db(), batch.id))


def _batch(batch_id: int) -> LinkBatch:
    try:
        return batch_for(store.db(), g.user, batch_id)
    except BatchUnavailable:
        abort(404)
