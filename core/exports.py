"""The columns of central inspection's CSV exports: codes, states, dates and counts.

A file leaves the service and is copied around, so it carries less than a page shows: phones
are masked, and no name, form answer, message body or complaint text is ever a column. Column
names are stable codes (not translated), so the files of every language read the same way.
Dates are UTC, ISO 8601.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.inspection import ROUND_KINDS, Filters, Kind, stream
from core.links import link_state
from core.phones import masked
from core.scopes import AreaScoped, Viewer

Cell = str | int | bool | None


@dataclass(frozen=True)
class Export:
    """A file's header and how one row of the list becomes one line of it."""

    columns: tuple[str, ...]
    cells: Callable[[Sequence[Any]], tuple[Cell, ...]]


def export_rows(
    session: Session, viewer: Viewer, kind: Kind, filters: Filters
) -> Iterator[tuple[Cell, ...]]:
    """The lines of a list's export, one at a time, narrowed like the list itself.

    A round's list (applications, links) ends each line with the round's code (`columns_of`).
    """
    cells = EXPORTS[kind].cells
    tail: tuple[Cell, ...] = (filters.round,) if kind in ROUND_KINDS else ()
    for row in stream(session, viewer, kind, filters):
        yield cells(row) + tail


def columns_of(kind: Kind) -> tuple[str, ...]:
    """A list's export header: a round's list says which round it holds in a last column."""
    return EXPORTS[kind].columns + (("round",) if kind in ROUND_KINDS else ())


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _phone(phone: str | None) -> str | None:
    return masked(phone) if phone else None


def _area(record: AreaScoped) -> tuple[Cell, ...]:
    return record.governorate_code, record.district_code, record.locality_code


def _application(row: Sequence[Any]) -> tuple[Cell, ...]:
    app, tickets, corrections = row
    return (
        app.reference,
        app.status,
        app.reason,
        app.version,
        app.channel,
        app.language,
        *_area(app),
        _iso(app.submitted_at),
        tickets,
        corrections,
    )


def _link(row: Sequence[Any]) -> tuple[Cell, ...]:
    link, message = row
    return (
        link.id,
        link.channel,
        link_state(link, message).value,
        _phone(link.phone),
        link.language,
        *_area(link),
        _iso(link.created_at),
        _iso(link.expires_at),
        _iso(link.opened_at),
        _iso(link.used_at),
        _iso(link.revoked_at),
    )


def _message(row: Sequence[Any]) -> tuple[Cell, ...]:
    (message,) = row
    return (
        message.id,
        message.direction,
        message.purpose,
        message.status,
        message.error_code,
        message.segments,
        message.language,
        _phone(message.phone),
        *_area(message),
        _iso(message.created_at),
        _iso(message.updated_at),
    )


def _call(row: Sequence[Any]) -> tuple[Cell, ...]:
    (call,) = row
    return (
        call.id,
        call.direction,
        call.status,
        _phone(call.phone),
        call.language,
        *_area(call),
        _iso(call.started_at),
        _iso(call.queued_at),
        _iso(call.answered_at),
        _iso(call.ended_at),
        queue_wait(call.queued_at, call.answered_at),
        call.duration_seconds,
    )


def queue_wait(queued: datetime | None, answered: datetime | None) -> int | None:
    """Seconds a caller waited in the complaint room's queue before an agent answered."""
    if queued is None or answered is None:
        return None
    return max(0, int((answered - queued).total_seconds()))


def _ticket(row: Sequence[Any]) -> tuple[Cell, ...]:
    ticket, assignee, reference = row
    return (
        ticket.number,
        ticket.kind,
        ticket.category,
        ticket.channel,
        ticket.status,
        ticket.language,
        _phone(ticket.phone),
        reference,
        assignee,
        *_area(ticket),
        _iso(ticket.created_at),
        _iso(ticket.due_at),
        _iso(ticket.escalated_at),
        _iso(ticket.closed_at),
    )


def _correction(row: Sequence[Any]) -> tuple[Cell, ...]:
    correction, reference, ticket_number, logged_by, decided_by = row
    return (
        correction.id,
        ticket_number,
        reference,
        correction.base_version,
        correction.source,
        ";".join(change["field"] for change in correction.change_list()),
        correction.status,
        logged_by,
        decided_by,
        *_area(correction),
        _iso(correction.created_at),
        _iso(correction.decided_at),
    )


def _user(row: Sequence[Any]) -> tuple[Cell, ...]:
    (user,) = row
    return (
        user.username,
        user.role_value,
        user.area_code,
        user.is_active,
        _iso(user.created_at),
        _iso(user.pledge_accepted_at),
        _iso(user.last_sign_in_at),
    )


def _event(row: Sequence[Any]) -> tuple[Cell, ...]:
    (event,) = row
    return (
        event.seq,
        _iso(event.at),
        event.actor,
        event.action,
        event.object_type,
        event.object_id,
        event.details,
        event.prev_hash,
        event.hash,
    )


def _columns(*names: str) -> tuple[str, ...]:
    return tuple(" ".join(names).split())


_AREA = "governorate district locality"
EXPORTS: dict[Kind, Export] = {
    Kind.APPLICATIONS: Export(
        _columns(
            "reference status reason version channel language",
            f"{_AREA} submitted_at tickets corrections",
        ),
        _application,
    ),
    Kind.LINKS: Export(
        _columns(
            f"id channel state phone language {_AREA}",
            "created_at expires_at opened_at used_at revoked_at",
        ),
        _link,
    ),
    Kind.MESSAGES: Export(
        _columns(
            "id direction purpose status error_code segments language phone",
            f"{_AREA} created_at updated_at",
        ),
        _message,
    ),
    Kind.CALLS: Export(
        _columns(
            f"id direction status phone language {_AREA}",
            "started_at queued_at answered_at ended_at wait_seconds duration_seconds",
        ),
        _call,
    ),
    Kind.TICKETS: Export(
        _columns(
            "number kind category channel status language phone application assignee",
            f"{_AREA} created_at due_at escalated_at closed_at",
        ),
        _ticket,
    ),
    Kind.CORRECTIONS: Export(
        _columns(
            "id ticket application base_version source fields status logged_by decided_by",
            f"{_AREA} created_at decided_at",
        ),
        _correction,
    ),
    Kind.USERS: Export(
        _columns("username role area active created_at pledge_accepted_at last_sign_in_at"),
        _user,
    ),
    Kind.AUDIT: Export(
        _columns("seq at actor action object_type object_id details prev_hash hash"),
        _event,
    ),
}
