"""Corrections of a family's data: logged field by field, decided by the committee.

The circular sends every correction through hotline 1766 and has a committee — never the
person who took the call — make the change. Approval makes a new version of the application
(the old one is kept) and owes a new score; rejection keeps the application as it was. The
citizen can also propose the changes through a one-time correction link; that lands here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.applications import Application, revise
from core.db import Base, UTCDateTime, utcnow
from core.fields import ErrorCode, FieldError
from core.household import MEMBER_FIELDS, PAGE_FIELDS, PAGES, clean_page
from core.links import (
    DEFAULT_TTL_DAYS,
    Channel,
    Link,
    LinkUnavailable,
    consume_correction_link,
    hash_token,
    new_token,
    one_active_link_per_phone,
)
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, covers, visible
from core.tickets import (
    DEFAULT_DEADLINES,
    Deadline,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketStatus,
    link_application,
    open_ticket,
)

MAX_CHANGES = 20
# What the form refuses in any text: control characters and angle brackets.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f<>]")
MAX_REASON = 300
NOT_CORRECTABLE = frozenset({"declaration"})  # the citizen's own declaration stands


class CorrectionStatus(StrEnum):
    """The committee's decision."""

    PENDING = "pending"  # awaiting the committee
    APPROVED = "approved"  # applied as a new version of the application
    REJECTED = "rejected"  # refused, with the reason the citizen is sent


class CorrectionSource(StrEnum):
    """Who proposed the changes."""

    AGENT = "agent"  # an agent, during a call
    CITIZEN = "citizen"  # the citizen, through a correction link


class CorrectionRequest(AreaScoped, Base):
    """Changes proposed to one version of an application, and what the committee decided."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    # JSON list of {"field", "old", "new", "reason", "proof"}, in the form's order.
    changes: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def change_list(self) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = json.loads(self.changes)
        return changes


@dataclass(frozen=True)
class Change:
    """One field to correct, as typed: `field` is the form's own field name."""

    field: str
    new: str
    reason: str
    proof: str = ""


class CorrectionError(StrEnum):
    """Why a proposed change was refused, beside the form's own `ErrorCode`s."""

    UNKNOWN_FIELD = "unknown_field"  # the application has no such field
    REASON_REQUIRED = "reason_required"  # every change says why
    TOO_MANY_CHANGES = "too_many_changes"  # params: max
    DUPLICATE_FIELD = "duplicate_field"  # the same field twice in one request


class CorrectionInvalid(ValueError):
    """The proposed changes cannot be applied; `errors` say which field and why."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("invalid correction")
        self.errors = list(errors)


class NothingToCorrect(ValueError):
    """No change was given, or every new value equals the old one."""


class OwnCorrection(PermissionError):
    """The committee member logged this correction: someone else must decide it."""


class NotCommittee(PermissionError):
    """Only the committee decides corrections."""


class AlreadyDecided(Exception):
    """The correction has been approved or rejected already."""


class StaleCorrection(Exception):
    """The application changed since the correction was logged: it must be logged again."""


class ReasonRequired(ValueError):
    """A rejection is sent to the citizen with its reason; it cannot be empty."""


# --- the form's fields, flattened ---------------------------------------------------------


def field_page(field: str) -> str | None:
    """The page a field name belongs to (members are `members-<n>-<name>`)."""
    if field.startswith("members-"):
        _, index, name = [*field.split("-", 2), "", ""][:3]
        return "family" if index.isdigit() and name in MEMBER_FIELDS else None
    for page in PAGES:
        if page != "family" and field in PAGE_FIELDS[page]:
            return page
    return None


def current_values(pages: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every correctable field of an application with its value, in the form's order."""
    values: list[tuple[str, Any]] = []
    for page in PAGES:
        data = pages.get(page) or {}
        if page == "family":
            for n, member in enumerate(data.get("members") or []):
                values += [(f"members-{n}-{name}", member.get(name)) for name in MEMBER_FIELDS]
            continue
        values += [
            (name, data.get(name)) for name in PAGE_FIELDS[page] if name not in NOT_CORRECTABLE
        ]
    return values


def _as_posted(value: Any) -> list[str]:
    """A cleaned value as a browser would post it, so the page's cleaner can check it again."""
    if value is None:
        return [""]
    if isinstance(value, bool):
        return ["yes"] if value else [""]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def page_as_form(page: str, data: dict[str, Any]) -> dict[str, list[str]]:
    if page == "family":
        form: dict[str, list[str]] = {}
        for n, member in enumerate(data.get("members") or []):
            form |= {f"members-{n}-{k}": _as_posted(v) for k, v in member.items()}
        return form
    return {name: _as_posted(value) for name, value in data.items()}


def _new_posted(field: str, text: str, old: Any) -> list[str]:
    """Several choices (assets, incomes) are typed as a comma-separated list."""
    if isinstance(old, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return [text]


def apply_changes(
    pages: dict[str, Any],
    changes: Iterable[Change],
    *,
    today: date,
    locality_exists: Callable[[str], bool],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The corrected pages and the change records (old and new cleaned values).

    Each touched page is cleaned again whole, with the form's own rules, so a correction can
    never store what the form itself would refuse. Raises `CorrectionInvalid`.
    """
    old_values = dict(current_values(pages))
    forms: dict[str, dict[str, list[str]]] = {}
    errors: list[FieldError] = []
    seen: set[str] = set()
    wanted = list(changes)[: MAX_CHANGES + 1]
    if len(wanted) > MAX_CHANGES:
        raise CorrectionInvalid(
            [FieldError("changes", CorrectionError.TOO_MANY_CHANGES, {"max": MAX_CHANGES})]
        )
    for change in wanted:
        page = field_page(change.field)
        if page is None or change.field not in old_values:
            errors.append(FieldError(change.field, CorrectionError.UNKNOWN_FIELD))
            continue
        if not change.reason.strip():
            errors.append(FieldError(change.field, CorrectionError.REASON_REQUIRED))
            continue
        if _UNSAFE.search(change.reason + change.proof):  # kept, shown and exported later
            errors.append(FieldError(change.field, ErrorCode.INVALID_CHARACTERS))
            continue
        if change.field in seen:
            errors.append(FieldError(change.field, CorrectionError.DUPLICATE_FIELD))
            continue
        seen.add(change.field)
        form = forms.setdefault(page, page_as_form(page, pages[page]))
        form[change.field] = _new_posted(change.field, change.new, old_values[change.field])
    if errors:
        raise CorrectionInvalid(errors)
    corrected = dict(pages)
    for page, form in forms.items():
        data, page_errors = clean_page(page, form, today=today, locality_exists=locality_exists)
        errors += page_errors
        corrected[page] = data
    if errors:
        raise CorrectionInvalid(errors)
    new_values = dict(current_values(corrected))
    records = [
        {
            "field": c.field,
            "old": old_values[c.field],
            "new": new_values.get(c.field),
            "reason": c.reason.strip()[:MAX_REASON],
            "proof": c.proof.strip()[:MAX_REASON],
        }
        for c in wanted
        if new_values.get(c.field) != old_values[c.field]
    ]
    if not records:
        raise NothingToCorrect()
    return corrected, records


# --- logging and deciding -----------------------------------------------------------------


def log_correction(
    session: Session,
    ticket: Ticket,
    application: Application,
    changes: Iterable[Change],
    *,
    source: CorrectionSource,
    logged_by_id: int | None,
    actor: str,
    today: date,
    locality_exists: Callable[[str], bool],
) -> CorrectionRequest:
    """Check the changes against the form's rules and store them for the committee."""
    _pages, records = apply_changes(
        application.pages(), changes, today=today, locality_exists=locality_exists
    )
    if ticket.application_id != application.id:
        link_application(ticket, application)
    correction = CorrectionRequest(
        ticket_id=ticket.id,
        application_id=application.id,
        base_version=application.version,
        source=source,
        changes=json.dumps(records, ensure_ascii=False),
        status=CorrectionStatus.PENDING,
        logged_by_id=logged_by_id,
        created_at=utcnow(),
        governorate_code=application.governorate_code,
        district_code=application.district_code,
        locality_code=application.locality_code,
    )
    session.add(correction)
    if ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.IN_PROGRESS
    session.flush()
    audit.record(
        session,
        actor,
        "correction.logged",
        "correction",
        str(correction.id),
        {"application": application.id, "fields": len(records), "ticket": ticket.id},
    )
    return correction


class Decider(Viewer, Protocol):
    """A committee member deciding: an id to compare with whoever logged the correction."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...


def decide_correction(
    session: Session,
    correction: CorrectionRequest,
    decider: Decider,
    *,
    approve: bool,
    note: str,
    today: date,
    locality_exists: Callable[[str], bool],
) -> Application:
    """Approve (a new version, a new score owed) or reject (with the reason) a correction.

    Raises `NotCommittee`, `OwnCorrection`, `AlreadyDecided`, `StaleCorrection`,
    `ReasonRequired`, or on approval `CorrectionInvalid` / `DuplicateFamily`; the caller rolls
    back on any of them. The ticket is closed with the decision; the adapter tells the citizen.
    """
    if not can(decider.role, Permission.DECIDE_CORRECTIONS):
        raise NotCommittee()
    if correction.logged_by_id is not None and correction.logged_by_id == decider.id:
        raise OwnCorrection()
    if correction.status != CorrectionStatus.PENDING:
        raise AlreadyDecided()
    application = session.get_one(Application, correction.application_id, with_for_update=True)
    note = note.strip()[:MAX_REASON]
    if approve:
        _approve(session, correction, application, today, locality_exists)
    elif not note:
        raise ReasonRequired()
    correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
    correction.decided_by_id, correction.decided_at = decider.id, utcnow()
    correction.decision_note = note or None
    _close_ticket(session, correction, approve, note)
    audit.record(
        session,
        decider.username,
        f"correction.{correction.status}",
        "correction",
        str(correction.id),
        {"application": application.id, "version": application.version},
    )
    return application


def _approve(
    session: Session,
    correction: CorrectionRequest,
    application: Application,
    today: date,
    locality_exists: Callable[[str], bool],
) -> None:
    if application.version != correction.base_version:
        raise StaleCorrection()
    changes = [
        Change(c["field"], _as_text(c["new"]), c["reason"], c["proof"])
        for c in correction.change_list()
    ]
    pages, _records = apply_changes(
        application.pages(), changes, today=today, locality_exists=locality_exists
    )
    # The new version has no score yet: the adapter enqueues it after the commit, and
    # `scoring sweep` finds it unscored if the queue was down.
    revise(session, application, pages, correction.id)


def _as_text(value: Any) -> str:
    """A stored new value typed back, as `apply_changes` expects it."""
    posted = _as_posted(value)
    return ",".join(posted) if isinstance(value, list) else posted[0]


def _close_ticket(
    session: Session, correction: CorrectionRequest, approve: bool, note: str
) -> None:
    ticket = session.get(Ticket, correction.ticket_id)
    if ticket is None or ticket.is_closed:
        return
    ticket.status = TicketStatus.RESOLVED if approve else TicketStatus.REJECTED
    ticket.resolution, ticket.closed_at = note or None, utcnow()


# --- the citizen's correction link --------------------------------------------------------


def issue_correction_link(
    session: Session,
    application: Application,
    ttl_days: int = DEFAULT_TTL_DAYS,
    *,
    token_key: str | None = None,
) -> tuple[Link, str]:
    """A one-time link to the application's phone, to propose corrections (token shown once).

    The rules of form links hold: only the hash is kept (`token_key` as in `issue_link`),
    three links a day to a phone, and a new link replaces the ones still open. The round's
    window does not apply.
    """
    now = utcnow()
    one_active_link_per_phone(session, application.phone, now)
    token, salt = new_token(token_key)
    link = Link(
        token_hash=hash_token(token),
        token_salt=salt,
        channel=Channel.CORRECTION,
        programme_id=application.programme_id,
        sender_id=None,
        phone=application.phone,
        language=application.language,
        draft="{}",
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
        application_id=application.id,
        governorate_code=application.governorate_code,
        district_code=application.district_code,
        locality_code=application.locality_code,
    )
    session.add(link)
    session.flush()
    return link, token


def correction_link_application(session: Session, link: Link) -> Application:
    """The application a usable correction link corrects; `LinkUnavailable` otherwise."""
    application = session.get(Application, link.application_id) if link.application_id else None
    if link.channel != Channel.CORRECTION or application is None or not link.is_usable():
        raise LinkUnavailable()
    return application


def submit_citizen_correction(
    session: Session,
    link: Link,
    changes: Iterable[Change],
    *,
    today: date,
    locality_exists: Callable[[str], bool],
    deadlines: Mapping[TicketCategory, Deadline] = DEFAULT_DEADLINES,
) -> tuple[Ticket, CorrectionRequest]:
    """What the citizen sent through the link: a ticket and a correction for the committee.

    The changes are checked before the link is used, so a refused one can be fixed and sent
    again; the link is then consumed in the same transaction (once only).
    """
    application = correction_link_application(session, link)
    apply_changes(application.pages(), changes, today=today, locality_exists=locality_exists)
    consume_correction_link(session, link)
    ticket = open_ticket(
        session,
        phone=application.phone,
        channel=TicketChannel.WEB,
        language=link.language,
        category=TicketCategory.CORRECTION,
        application=application,
        deadlines=deadlines,
    )
    correction = log_correction(
        session,
        ticket,
        application,
        changes,
        source=CorrectionSource.CITIZEN,
        logged_by_id=None,
        actor="citizen",
        today=today,
        locality_exists=locality_exists,
    )
    return ticket, correction


# --- who sees what ------------------------------------------------------------------------

# The room logs, the committee decides, central inspection reads; nobody else.
_READERS = (Permission.HANDLE_COMPLAINTS, Permission.DECIDE_CORRECTIONS, Permission.VIEW_AUDIT)


def _reading_permission(viewer: Viewer) -> Permission | None:
    return next((p for p in _READERS if can(viewer.role, p)), None)


def corrections_visible_to(
    session: Session, viewer: Viewer, *, status: str | None = None, limit: int = 100
) -> list[CorrectionRequest]:
    permission = _reading_permission(viewer)
    if permission is None:
        return []
    stmt = select(CorrectionRequest)
    if status:
        stmt = stmt.where(CorrectionRequest.status == status)
    stmt = stmt.order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc())
    return list(session.scalars(visible(stmt, viewer, CorrectionRequest, permission).limit(limit)))


def correction_for(
    session: Session, viewer: Viewer, correction_id: int
) -> CorrectionRequest | None:
    permission = _reading_permission(viewer)
    correction = session.get(CorrectionRequest, correction_id)
    if correction is None or permission is None or not covers(viewer, correction, permission):
        return None
    return correction


def corrections_of_ticket(session: Session, ticket_id: int) -> list[CorrectionRequest]:
    stmt = (
        select(CorrectionRequest)
        .where(CorrectionRequest.ticket_id == ticket_id)
        .order_by(CorrectionRequest.id)
    )
    return list(session.scalars(stmt))
