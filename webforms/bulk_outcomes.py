"""What each row of a batch became, in words, and the result CSV the focal point follows up."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from core.link_batches import BatchRow, Outcome
from core.messages import MessageStatus
from webforms.csv_export import csv_download

OUTCOME_LABELS: dict[str, LazyString] = {
    Outcome.READY: _l("To send"),
    Outcome.ISSUED: _l("Link issued, SMS waiting to go"),
    Outcome.INVALID: _l("Not a phone number"),
    Outcome.FOREIGN: _l("Not a Lebanese number"),
    Outcome.LANDLINE: _l("A landline: no SMS"),
    Outcome.DUPLICATE: _l("Already earlier in the list"),
    Outcome.TODAY: _l("Already sent a link today"),
    Outcome.STOPPED: _l("Sent STOP: no SMS"),
    Outcome.DAILY_CAP: _l("Had its three SMS today"),
    Outcome.WINDOW_CLOSED: _l("Not sent: the round closed"),
    MessageStatus.QUEUED: _l("SMS sent"),
    MessageStatus.SENT: _l("SMS sent"),
    MessageStatus.DELIVERED: _l("SMS delivered"),
    MessageStatus.FAILED: _l("SMS not delivered"),
    MessageStatus.UNDELIVERED: _l("SMS not delivered"),
    MessageStatus.SUPPRESSED: _l("SMS withheld (STOP or daily limit)"),
}


def row_outcome(row: BatchRow, status: str | None) -> str:
    """The row's outcome code: an issued link's SMS state once the SMS has moved on."""
    if row.outcome == Outcome.ISSUED and status in OUTCOME_LABELS:
        return f"sms_{status}"
    return row.outcome


def row_label(row: BatchRow, status: str | None) -> str:
    if row.outcome == Outcome.ISSUED and status in OUTCOME_LABELS:
        return str(OUTCOME_LABELS[status])
    return str(OUTCOME_LABELS[row.outcome])


def result_csv(batch_id: int, rows: Sequence[tuple[BatchRow, str | None]]) -> Response:
    """Row, as typed, number, outcome (code and words); what was typed is defused like any
    cell (`csv_export.cell`), so `=HYPERLINK(...)` typed in the file never runs in Excel."""
    header = [str(_l("Row")), str(_l("As typed")), str(_l("Phone")), "outcome", str(_l("Outcome"))]
    lines = [
        (row.line, row.typed, row.phone, row_outcome(row, status), row_label(row, status))
        for row, status in rows
    ]
    return csv_download(f"link-batch-{batch_id}.csv", header, lines)
