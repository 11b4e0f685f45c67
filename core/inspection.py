"""Central inspection: every area's records, page by page, read-only, beside their audit trail.

Central inspection follows the whole programme and its audit trail (README: who uses it). Each
query here is narrowed by `core.scopes` with VIEW_AUDIT like any reader's, so an account
without that permission gets nothing and a smaller area would get only its own. The audit
trail carries no area: only a national account with VIEW_AUDIT reads it. Lists leave out
what is personal beyond a phone (message bodies, complaint texts, form data, password
hashes); the single-record functions return whole records for the pages that are audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Row, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased, defer

from core.applications import Application
from core.audit import AuditEvent
from core.calls import Call
from core.corrections import CorrectionRequest
from core.geography import AreaLevel, Locality
from core.links import Link
from core.messages import Message
from core.phones import NotLebaneseMobile, normalise_mobile
from core.programme import Programme
from core.references import parse_reference
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, covers, visible
from core.tickets import Ticket
from core.users import StaffUser

VIEW = Permission.VIEW_AUDIT
PAGE_SIZE = 50
MAX_PAGE = 2000  # 100,000 rows deep: further than anyone pages, and the offset stays cheap
TRAIL_LIMIT = 500  # newest events shown beside one record (every view adds one)
EXPORT_BATCH = 1000  # rows fetched at a time while an export streams

_LINK_TOKEN = re.compile(r"(/f/)[A-Za-z0-9_-]+")  # the path of every one-time link SMS
R = TypeVar("R", bound=AreaScoped)
Query = Select[*tuple[Any, ...]]  # a SELECT of any number of columns


class Kind(StrEnum):
    """What central inspection lists and exports."""

    APPLICATIONS = "applications"
    LINKS = "links"
    MESSAGES = "messages"
    CALLS = "calls"
    TICKETS = "tickets"
    CORRECTIONS = "corrections"
    USERS = "users"
    AUDIT = "audit"


ROUND_KINDS = frozenset({Kind.APPLICATIONS, Kind.LINKS})  # the lists a round narrows


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed by; each kind uses the fields that apply to it, empty is 'any'."""

    search: str = ""  # applications: a reference or a phone number
    status: str = ""  # applications, messages, calls, tickets, corrections
    channel: str = ""  # links, tickets
    category: str = ""  # tickets
    role: str = ""  # users
    actor: str = ""  # audit
    action: str = ""  # audit: a prefix, so "ticket." finds every ticket event
    object_type: str = ""  # audit
    object_id: str = ""  # audit
    round: str = ""  # applications, links: a round's code (core/rounds.py)


@dataclass(frozen=True)
class Page:
    """One page of a list, newest first; `has_next` is known without counting the table."""

    rows: list[Any]  # entities, or rows led by the entity for the joined kinds
    number: int
    has_next: bool

    @property
    def records(self) -> list[Any]:
        """The listed entities themselves, without what was joined to them."""
        return [row[0] if isinstance(row, Row) else row for row in self.rows]


def list_page(
    session: Session, viewer: Viewer, kind: Kind, filters: Filters, number: int = 1
) -> Page:
    """Page `number` of a list (clamped to 1..MAX_PAGE): entities, or rows for joined kinds."""
    number = min(max(number, 1), MAX_PAGE)
    stmt = _statement(viewer, kind, filters).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    result = session.execute(stmt)
    rows = list(result.scalars() if len(stmt.column_descriptions) == 1 else result.all())
    return Page(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE and number < MAX_PAGE)


def stream(session: Session, viewer: Viewer, kind: Kind, filters: Filters) -> Iterator[Row[Any]]:
    """Every row of a list, fetched in batches (a server-side cursor on PostgreSQL)."""
    stmt = _statement(viewer, kind, filters).execution_options(yield_per=EXPORT_BATCH)
    result = session.execute(stmt)
    try:
        yield from result
    finally:
        result.close()  # an abandoned download must not leave the cursor open


def _statement(viewer: Viewer, kind: Kind, filters: Filters) -> Query:
    """The query behind a list and its export, narrowed to what `viewer` may read."""
    return _STATEMENTS[kind](viewer, filters)


# --- the lists ----------------------------------------------------------------------------


def _applications(viewer: Viewer, f: Filters) -> Query:
    tickets = select(func.count(Ticket.id)).where(Ticket.application_id == Application.id)
    corrections = select(func.count(CorrectionRequest.id)).where(
        CorrectionRequest.application_id == Application.id
    )
    stmt = (
        select(
            Application,
            tickets.scalar_subquery().label("tickets"),
            corrections.scalar_subquery().label("corrections"),
        )
        .options(defer(Application.data))  # the family's answers stay on the record's page
        .order_by(Application.submitted_at.desc(), Application.id.desc())
    )
    if f.status:
        stmt = stmt.where(Application.status == f.status)
    if f.round:
        stmt = stmt.where(Application.programme_id == _round_id(f.round))
    return visible(_matching(stmt, f.search), viewer, Application, VIEW)


def _matching(stmt: Query, search: str) -> Query:
    """A reference (any spacing or digits) or a mobile number (any way of writing it)."""
    text = search.strip()
    if not text:
        return stmt
    reference = parse_reference(text)
    if reference is not None:
        return stmt.where(Application.reference == reference)
    try:
        return stmt.where(Application.phone == normalise_mobile(text))
    except NotLebaneseMobile:
        return stmt.where(false())  # neither: nothing matches, rather than everything


def _links(viewer: Viewer, f: Filters) -> Query:
    stmt = (
        select(Link, Message)
        .outerjoin(Message, Message.id == Link.message_id)
        .options(defer(Link.draft), defer(Message.body))
        .order_by(Link.created_at.desc(), Link.id.desc())
    )
    if f.channel:
        stmt = stmt.where(Link.channel == f.channel)
    if f.round:
        stmt = stmt.where(Link.programme_id == _round_id(f.round))
    return visible(stmt, viewer, Link, VIEW)


def _round_id(code: str) -> Any:
    """The id of the round of that code, inside the statement (no round: matches nothing)."""
    return select(Programme.id).where(Programme.code == code).scalar_subquery()


def _messages(viewer: Viewer, f: Filters) -> Query:
    stmt = (
        select(Message)
        .options(defer(Message.body))  # the text is shown on the message's own page only
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    if f.status:
        stmt = stmt.where(Message.status == f.status)
    return visible(stmt, viewer, Message, VIEW)


def _calls(viewer: Viewer, f: Filters) -> Query:
    stmt = select(Call).order_by(Call.started_at.desc(), Call.id.desc())
    if f.status:
        stmt = stmt.where(Call.status == f.status)
    return visible(stmt, viewer, Call, VIEW)


def _tickets(viewer: Viewer, f: Filters) -> Query:
    assignee = aliased(StaffUser)
    stmt = (
        select(Ticket, assignee.username.label("assignee"), Application.reference)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .outerjoin(Application, Application.id == Ticket.application_id)
        .options(defer(Ticket.text), defer(Ticket.resolution))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    if f.status:
        stmt = stmt.where(Ticket.status == f.status)
    if f.category:
        stmt = stmt.where(Ticket.category == f.category)
    if f.channel:
        stmt = stmt.where(Ticket.channel == f.channel)
    return visible(stmt, viewer, Ticket, VIEW)


def _corrections(viewer: Viewer, f: Filters) -> Query:
    logger, decider = aliased(StaffUser), aliased(StaffUser)
    stmt = (
        select(
            CorrectionRequest,
            Application.reference,
            Ticket.number.label("ticket_number"),
            logger.username.label("logged_by"),
            decider.username.label("decided_by"),
        )
        .join(Application, Application.id == CorrectionRequest.application_id)
        .join(Ticket, Ticket.id == CorrectionRequest.ticket_id)
        .outerjoin(logger, logger.id == CorrectionRequest.logged_by_id)
        .outerjoin(decider, decider.id == CorrectionRequest.decided_by_id)
        .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc())
    )
    if f.status:
        stmt = stmt.where(CorrectionRequest.status == f.status)
    return visible(stmt, viewer, CorrectionRequest, VIEW)


def _users(viewer: Viewer, f: Filters) -> Query:
    stmt = (
        select(StaffUser)
        .options(defer(StaffUser.password_hash))  # never leaves the store for a page
        .order_by(StaffUser.username)
    )
    if f.role:
        stmt = stmt.where(StaffUser.role_value == f.role)
    return visible(stmt, viewer, StaffUser, VIEW)


def _audit(viewer: Viewer, f: Filters) -> Query:
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if not reads_trail(viewer):
        return stmt.where(false())
    if f.actor:
        stmt = stmt.where(AuditEvent.actor == f.actor)
    if f.action:
        stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    return stmt


_STATEMENTS = {
    Kind.APPLICATIONS: _applications,
    Kind.LINKS: _links,
    Kind.MESSAGES: _messages,
    Kind.CALLS: _calls,
    Kind.TICKETS: _tickets,
    Kind.CORRECTIONS: _corrections,
    Kind.USERS: _users,
    Kind.AUDIT: _audit,
}


def reads_trail(viewer: Viewer) -> bool:
    """The trail has no area, so reading it takes a national account with VIEW_AUDIT."""
    return can(viewer.role, VIEW) and viewer.area.level is AreaLevel.NATIONAL


# --- one record, what is tied to it, and its trail ----------------------------------------


def record_for(session: Session, viewer: Viewer, model: type[R], record_id: int) -> R | None:
    """One record by id, if the viewer may inspect it (the same rule as the lists)."""
    record = session.get(model, record_id)
    return record if record is not None and covers(viewer, record, VIEW) else None


def tickets_of_application(session: Session, viewer: Viewer, application_id: int) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.application_id == application_id).order_by(Ticket.id)
    return list(session.scalars(visible(stmt, viewer, Ticket, VIEW)))


def corrections_of(
    session: Session,
    viewer: Viewer,
    *,
    application_id: int | None = None,
    ticket_id: int | None = None,
) -> list[CorrectionRequest]:
    """The corrections of an application or of a ticket, oldest first."""
    stmt = select(CorrectionRequest).order_by(CorrectionRequest.id)
    if application_id is not None:
        stmt = stmt.where(CorrectionRequest.application_id == application_id)
    if ticket_id is not None:
        stmt = stmt.where(CorrectionRequest.ticket_id == ticket_id)
    return list(session.scalars(visible(stmt, viewer, CorrectionRequest, VIEW)))


def trail_of(
    session: Session, viewer: Viewer, objects: Mapping[str, Iterable[int | str]]
) -> list[AuditEvent]:
    """The newest events of several objects together (an application with its link, tickets
    and corrections); `core.audit.events_for` reads one object, all of it, oldest first."""
    if not reads_trail(viewer):
        return []
    conditions = [
        and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_([str(i) for i in ids]))
        for kind, ids in objects.items()
        if ids
    ]
    if not conditions:
        return []
    stmt = select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.seq.desc())
    return list(session.scalars(stmt.limit(TRAIL_LIMIT)))


def application_trail(
    session: Session,
    viewer: Viewer,
    application: Application,
    tickets: Iterable[Ticket],
    corrections: Iterable[CorrectionRequest],
) -> list[AuditEvent]:
    """What happened to a family's record: its link, itself, its tickets and corrections."""
    return trail_of(
        session,
        viewer,
        {
            "link": [application.link_id],
            "application": [application.id],
            "ticket": [ticket.id for ticket in tickets],
            "correction": [correction.id for correction in corrections],
        },
    )


def redacted(body: str) -> str:
    """An SMS as sent, but with a one-time link's token hidden: whoever reads the log must
    not be able to open the family's form with it."""
    return _LINK_TOKEN.sub(r"\1•••", body)


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Staff usernames by id, for the few accounts a page names."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.username).where(StaffUser.id.in_(ids)))
    return {user_id: username for user_id, username in rows}


def localities(session: Session, codes: Iterable[str | None]) -> dict[str, Locality]:
    """The localities a page mentions, by code (one query, not one per row)."""
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    return {
        place.code: place
        for place in session.scalars(select(Locality).where(Locality.code.in_(wanted)))
    }
