"""The citizen's correction link: `/f/<token>` when 1766 sent it to correct an application.

The page shows what the application holds, in plain words, and takes up to five corrections
(which information, its correct value, why). What is sent becomes a ticket and a correction
for the technical committee (`core.corrections`); a refused row leaves the link usable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from core.applications import Application
from core.clock import beirut_today
from core.correction_changes import MAX_REASON, CorrectionInvalid, NothingToCorrect, current_values
from core.correction_links import correction_link_application, submit_citizen_correction
from core.links import Link, LinkUnavailable
from core.notifications import dispatch
from core.receipts import owe_correction_ticket
from core.references import grouped, grouped_ticket
from core.tickets import Ticket
from texts import corrections as correction_text
from texts.forms import field_label
from texts.sms import compose
from web import store
from webforms.correction_rows import (
    MAX_ROWS,
    MAX_VALUE,
    Problems,
    Row,
    check_rows,
    groups,
    place_errors,
    posted_rows,
    to_changes,
)

LAYOUT = "form/citizen_layout.html"


def show(
    link: Link, action: str, unavailable: Callable[[], ResponseReturnValue]
) -> ResponseReturnValue:
    """The application as it stands, and empty rows to correct it."""
    try:
        application = correction_link_application(store.db(), link)
    except LinkUnavailable:
        return unavailable()
    return _render(application, action, [], Problems())


def send(
    link: Link, action: str, unavailable: Callable[[], ResponseReturnValue]
) -> ResponseReturnValue:
    """Check the rows, then file the ticket and the correction, or show what to fix (400)."""
    session = store.db()
    try:
        application = correction_link_application(session, link)
    except LinkUnavailable:
        return unavailable()
    rows = posted_rows(request.form)
    if request.form.get("action") == "add":  # another row, nothing checked yet
        return _render(application, action, rows, Problems())
    old_values = dict(current_values(application.pages()))
    problems = check_rows(rows, old_values, beirut_today())
    if problems:
        return _render(application, action, rows, problems), 400
    return _submit(link, application, rows, old_values, action, unavailable)


def _submit(
    link: Link,
    application: Application,
    rows: list[Row],
    old_values: dict[str, Any],
    action: str,
    unavailable: Callable[[], ResponseReturnValue],
) -> ResponseReturnValue:
    """The form's rules decide; a refusal stores nothing and leaves the link usable."""
    session, typed = store.db(), to_changes(rows, old_values)
    try:
        ticket, _correction = submit_citizen_correction(
            session,
            link,
            typed.changes,
            today=beirut_today(),
        )
    except CorrectionInvalid as refused:
        session.rollback()
        problems = place_errors(rows, refused.errors, old_values, typed)
        return _render(application, action, rows, problems), 400
    except NothingToCorrect:
        session.rollback()
        problems = Problems(general=[str(correction_text.NOTHING_TO_CORRECT)])
        return _render(application, action, rows, problems), 400
    except LinkUnavailable:  # another tab sent it first
        session.rollback()
        return unavailable()
    return _registered(application, ticket, link.language)


def _registered(application: Application, ticket: Ticket, language: str) -> str:
    """Commit, then queue the SMS: it is owed before it is queued."""
    session = store.db()
    message_id = owe_correction_ticket(session, application, ticket, language, compose)
    session.commit()
    dispatch(current_app.extensions["intake.jobs"], [message_id], new=True)
    return render_template(
        "form/correction_sent.html", layout=LAYOUT, number=grouped_ticket(ticket.number)
    )


def _render(application: Application, action: str, rows: list[Row], problems: Problems) -> str:
    """Rows whose information is chosen show its name; one row offers the list to choose from.

    The list names every field of the application, so it is sent once, not on every row: a
    cheap phone's page stays small however large the family.
    """
    values = current_values(application.pages())
    known = {name for name, _value in values}
    shown = rows[:MAX_ROWS]
    if len(shown) < MAX_ROWS and all(row.field in known for row in shown):
        shown = [*shown, Row()]
    return render_template(
        "form/correction.html",
        layout=LAYOUT,
        reference=grouped(application.reference),
        groups=groups(values),
        rows=shown,
        chosen={row.field: field_label(row.field) for row in shown if row.field in known},
        can_add=len(shown) < MAX_ROWS,
        problems=problems,
        action=action,
        max_value=MAX_VALUE,
        max_reason=MAX_REASON,
    )
