"""Importing staff accounts from the admin's page (`POST /console/users/import`).

The same checks as `flask --app wsgi users import` (core/account_import.py): every row's
problem is shown before anything is created, and one bad row creates nothing. The accounts
get no password anyone sees: each gets a set-password link (valid 24 hours), by SMS to the
row's phone, or listed in the CSV the admin downloads at once (cells that a spreadsheet
would run as formulas are defused, webforms/csv_export.py). That CSV is the only copy of
the shown links.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from core.account_import import (
    MAX_IMPORT_BYTES,
    MAX_ROWS,
    ImportProblem,
    ImportRefused,
    RowProblem,
    check_rows,
    create_accounts,
    read_rows,
)
from core.notifications import dispatch
from core.password_resets import FIRST_LIFETIME, Delivery, SmsRefused, issue_link
from core.roles import Permission
from core.users import StaffUser, generate_password
from web import store
from web.auth import staff_required
from webforms.csv_export import csv_download
from webforms.staff_accounts import link_sender

bp = Blueprint("staff_import", __name__, template_folder="templates")

TEXTS = {
    ImportProblem.TOO_LARGE: _l("The file is too large. Split it into smaller files."),
    ImportProblem.NOT_UTF8: _l(
        "The file is not in UTF-8. In the spreadsheet, save it as “CSV UTF-8” and try again."
    ),
    ImportProblem.NOT_CSV: _l("The file is not a readable CSV file."),
    ImportProblem.MISSING_COLUMNS: _l(
        "The file lacks the columns username, role and area_code on its first line."
    ),
    ImportProblem.TOO_MANY_ROWS: _l("The file has more than %(max)s rows. Split it."),
    ImportProblem.NO_ROWS: _l("The file has no account in it."),
    ImportProblem.BAD_USERNAME: _l(
        "The username must be 3 to 40 characters: lowercase letters, digits, '.', '_' or '-'."
    ),
    ImportProblem.USERNAME_TAKEN: _l("This username is taken (by an account or an earlier row)."),
    ImportProblem.UNKNOWN_ROLE: _l("This is not a role."),
    ImportProblem.UNKNOWN_AREA: _l("No area has this code."),
    ImportProblem.WRONG_LEVEL: _l("This role is tied to another level of area."),
    ImportProblem.BAD_PHONE: _l("The phone is not a Lebanese mobile number."),
}


@bp.post("/console/users/import")
@staff_required(Permission.MANAGE_USERS)
def upload() -> ResponseReturnValue:
    """Check every row; create all or nothing; answer with the CSV of how each link went."""
    file = request.files.get("file")
    try:
        rows = read_rows(_read(file))
        if not rows:
            raise ImportRefused(ImportProblem.NO_ROWS)
    except ImportRefused as refused:
        return _refused([str(TEXTS[refused.problem]) % {"max": MAX_ROWS}], [])
    session = store.db()
    accounts, problems = check_rows(session, rows)
    if problems:
        return _refused([], problems)
    created = create_accounts(session, accounts, g.user.username, generate_password)
    lines = [_deliver(user) for user, _secret in created]
    store.commit()
    jobs = current_app.extensions["intake.jobs"]
    for _user, delivery in lines:
        dispatch(jobs, delivery.to_dispatch, new=True)
    header = ("username", "role", "area_code", "set_password")
    rows_out = [(u.username, u.role_value, u.area_code, d.shown or "sms") for u, d in lines]
    return csv_download("accounts.csv", header, rows_out)


def _read(file: FileStorage | None) -> bytes:
    """At most one byte past the limit is read: enough to refuse a larger file."""
    if file is None or not file.filename:  # the form sent without a file chosen
        raise ImportRefused(ImportProblem.NO_ROWS)
    return file.stream.read(MAX_IMPORT_BYTES + 1)


def _deliver(user: StaffUser) -> tuple[StaffUser, Delivery]:
    """By SMS where the row has a mobile that takes it, else in the downloaded file."""
    sender = link_sender()
    try:
        return user, issue_link(store.db(), user, g.user.username, sender, lifetime=FIRST_LIFETIME)
    except SmsRefused:
        shown = issue_link(
            store.db(), user, g.user.username, sender, show=True, lifetime=FIRST_LIFETIME
        )
        return user, shown


def _refused(whole: list[str], problems: list[RowProblem]) -> ResponseReturnValue:
    rows = [(p.line, p.value, str(TEXTS[p.problem])) for p in problems]
    page = render_template("users/import_refused.html", whole=whole, rows=rows)
    return page, 400
