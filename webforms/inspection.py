"""Central inspection (/inspection): every area's records, read-only, each beside its trail.

Looking is itself on the record: opening a family's application, ticket, correction or SMS,
and every export, is an audit event committed before the page or the file is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core import audit
from core.applications import Application, versions_of
from core.clock import beirut_today
from core.corrections import CorrectionRequest
from core.exports import Cell, columns_of, export_rows, queue_wait
from core.geography import Locality
from core.household import MEMBER_FIELDS, PAGE_FIELDS, PAGES
from core.inspection import (
    ROUND_KINDS,
    Filters,
    Kind,
    application_trail,
    corrections_of,
    list_page,
    localities,
    record_for,
    redacted,
    tickets_of_application,
    trail_of,
    usernames,
)
from core.links import link_state
from core.messages import Message
from core.phones import masked
from core.references import grouped
from core.roles import Permission
from core.scopes import viewpoint
from core.tickets import Ticket
from core.users import StaffUser
from texts import forms as form_text
from texts import inspection as text
from texts.scores import score_view
from web import store
from web.auth import staff_required
from web.rounds import picked_round, round_codes
from webforms.console import APPLICATION_STATUSES, LINK_STATES, ROLE_LABELS
from webforms.csv_export import csv_from_store

bp = Blueprint("inspection", __name__, template_folder="templates", url_prefix="/inspection")

VIEW = Permission.VIEW_AUDIT
ID = "int(max=2147483647)"  # a larger id is in no table, and would overflow the databases
KINDS = f"any({', '.join(kind.value for kind in Kind)})"
MAX_TYPED = 64  # longer than any reference, phone, username, action or object id
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The lists a kind can be narrowed by: chosen from labels, or typed.
CHOICES: dict[Kind, dict[str, Mapping[str, Any]]] = {
    Kind.APPLICATIONS: {"status": APPLICATION_STATUSES},
    Kind.LINKS: {"channel": text.LINK_CHANNELS},
    Kind.MESSAGES: {"status": text.MESSAGE_STATUSES},
    Kind.CALLS: {"status": text.CALL_STATUSES},
    Kind.TICKETS: {
        "status": text.TICKET_STATUSES,
        "category": text.TICKET_CATEGORIES,
        "channel": text.TICKET_CHANNELS,
    },
    Kind.CORRECTIONS: {"status": text.CORRECTION_STATUSES},
    Kind.USERS: {"role": ROLE_LABELS},
    Kind.AUDIT: {},
}
TYPED: dict[Kind, tuple[str, ...]] = {
    Kind.APPLICATIONS: ("search",),
    Kind.AUDIT: ("actor", "action", "object_type", "object_id"),
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "lists": text.LISTS,
        "text": text,
        "application_statuses": APPLICATION_STATUSES,
        "link_states": LINK_STATES,
        "roles": ROLE_LABELS,
        "reasons": form_text.INELIGIBLE_REASONS,
        "masked": masked,
        "grouped": grouped,
    }


# --- query parameters: untrusted, so bounded and checked, never an error ------------------


def _typed(name: str) -> str:
    """Typed text, bounded, without control characters (PostgreSQL refuses a NUL byte)."""
    return _CONTROL.sub("", request.args.get(name, "")[:MAX_TYPED]).strip()


def _chosen(name: str, labels: Mapping[str, Any]) -> str:
    value = request.args.get(name, "")
    return value if value in labels else ""


def _page_number() -> int:
    raw = request.args.get("page", "")[:6]
    return int(raw) if raw.isascii() and raw.isdigit() else 1


def _filters(kind: Kind) -> Filters:
    values = {name: _chosen(name, labels) for name, labels in CHOICES[kind].items()}
    values |= {name: _typed(name) for name in TYPED.get(kind, ())}
    if kind in ROUND_KINDS:  # ?round=CODE, else the default round; unknown: a 404 page
        counted = picked_round()
        values["round"] = counted.code if counted else ""
    return Filters(**values)


def _used(filters: Filters) -> dict[str, str]:
    return {name: value for name, value in asdict(filters).items() if value}


# --- the lists and their exports -----------------------------------------------------------


@bp.get("")
@bp.get("/")
@staff_required(VIEW)
def home() -> ResponseReturnValue:
    return render_template("inspection/home.html")


@bp.get(f"/<{KINDS}:kind>")
@staff_required(VIEW)
def listing(kind: str) -> ResponseReturnValue:
    """One list, newest first, a page at a time, narrowed by its filters."""
    return _render_list(Kind(kind))


@bp.get("/audit/verify")
@staff_required(VIEW)
def verify() -> ResponseReturnValue:
    """Re-derive every hash of the trail and say where, if anywhere, the chain breaks."""
    return _render_list(Kind.AUDIT, report=audit.verify_chain(store.db()))


def _render_list(kind: Kind, **extra: Any) -> str:
    session, filters = store.db(), _filters(kind)
    page = list_page(session, g.user, kind, filters, _page_number())
    return render_template(
        f"inspection/{kind.value}.html",
        kind=kind,
        page=page,
        filters=filters,
        used=_used(filters),
        choices=CHOICES[kind],
        typed=TYPED.get(kind, ()),
        places=localities(session, (getattr(r, "locality_code", None) for r in page.records)),
        link_state=link_state,
        queue_wait=queue_wait,
        round_codes=round_codes() if kind in ROUND_KINDS else [],
        **extra,
    )


@bp.get(f"/<{KINDS}:kind>.csv")
@staff_required(VIEW)
def export_page(kind: str) -> ResponseReturnValue:
    """The download's button (a followed link, even from another site, exports nothing)."""
    listed = Kind(kind)
    return render_template("inspection/export.html", kind=listed, used=_used(_filters(listed)))


@bp.post(f"/<{KINDS}:kind>.csv")
@staff_required(VIEW)
def export(kind: str) -> ResponseReturnValue:
    """The whole list as CSV, streamed; recorded first, so a download is never unaccounted.

    A POST with the form's CSRF token: an export is an event on the record, which a link on
    another site must not be able to cause. The filters travel in the query string.
    """
    session, listed = store.db(), Kind(kind)
    filters = _filters(listed)
    # What was asked, minus a typed search: it may be a family's phone number.
    details = {k: v for k, v in _used(filters).items() if k != "search"}
    details["searched"] = bool(filters.search)
    audit.record(session, g.user.username, f"export.{kind}", kind, "", details)
    session.commit()
    day = beirut_today().isoformat()
    viewer = viewpoint(g.user)  # the request's session (and g.user's) is closed while sending

    def read(reading: Session) -> Iterable[Sequence[Cell]]:
        return export_rows(reading, viewer, listed, filters)

    return csv_from_store(f"{kind}-{day}.csv", columns_of(listed), read)


# --- single records, each beside its trail -------------------------------------------------


def _viewed(object_type: str, object_id: int) -> None:
    """Opening a family's record is on the record: committed before the page is shown."""
    session = store.db()
    audit.record(session, g.user.username, f"{object_type}.viewed", object_type, str(object_id))
    session.commit()


@bp.get(f"/applications/<{ID}:application_id>")
@staff_required(VIEW)
def application_page(application_id: int) -> ResponseReturnValue:
    session, user = store.db(), g.user
    record = record_for(session, user, Application, application_id) or abort(404)
    _viewed("application", record.id)
    tickets = tickets_of_application(session, user, record.id)
    corrections = corrections_of(session, user, application_id=record.id)
    versions = versions_of(session, record.id)
    every = [record.pages(), *(version.pages() for version in versions)]
    places = localities(session, [record.locality_code, *_places_in(every)])
    return render_template(
        "inspection/application.html",
        application=record,
        household=household(record.pages(), places),
        versions=[(version, household(version.pages(), places)) for version in versions],
        tickets=tickets,
        corrections=corrections,
        trail=application_trail(session, user, record, tickets, corrections),
        places=places,
        names=usernames(session, [record.entered_by_id]),
        score=score_view(session, record),
    )


@bp.get(f"/tickets/<{ID}:ticket_id>")
@staff_required(VIEW)
def ticket_page(ticket_id: int) -> ResponseReturnValue:
    session, user = store.db(), g.user
    record = record_for(session, user, Ticket, ticket_id) or abort(404)
    _viewed("ticket", record.id)
    corrections = corrections_of(session, user, ticket_id=record.id)
    trail = trail_of(
        session, user, {"ticket": [record.id], "correction": [c.id for c in corrections]}
    )
    return render_template(
        "inspection/ticket.html",
        ticket=record,
        said=redacted(record.text or ""),
        corrections=corrections,
        trail=trail,
        names=usernames(session, [record.assignee_id, record.logged_by_id]),
        application=_application_of(record.application_id),
        places=localities(session, [record.locality_code]),
    )


@bp.get(f"/corrections/<{ID}:correction_id>")
@staff_required(VIEW)
def correction_page(correction_id: int) -> ResponseReturnValue:
    session, user = store.db(), g.user
    record = record_for(session, user, CorrectionRequest, correction_id) or abort(404)
    _viewed("correction", record.id)
    return render_template(
        "inspection/correction.html",
        correction=record,
        changes=_changes(record),
        trail=trail_of(session, user, {"correction": [record.id]}),
        names=usernames(session, [record.logged_by_id, record.decided_by_id]),
        application=_application_of(record.application_id),
        ticket=record_for(session, user, Ticket, record.ticket_id),
    )


@bp.get(f"/messages/<{ID}:message_id>")
@staff_required(VIEW)
def message_page(message_id: int) -> ResponseReturnValue:
    session, user = store.db(), g.user
    record = record_for(session, user, Message, message_id) or abort(404)
    _viewed("message", record.id)
    return render_template(
        "inspection/message.html",
        message=record,
        body=redacted(record.body),
        trail=trail_of(session, user, {"message": [record.id]}),
        places=localities(session, [record.locality_code]),
    )


@bp.get(f"/users/<{ID}:user_id>")
@staff_required(VIEW)
def account_page(user_id: int) -> ResponseReturnValue:
    """A staff account (a colleague's, not a family's record: opening it is not an event)."""
    session = store.db()
    record = record_for(session, g.user, StaffUser, user_id) or abort(404)
    return render_template(
        "inspection/user.html",
        account=record,
        trail=trail_of(session, g.user, {"staff_user": [record.id]}),
    )


def _changes(correction: CorrectionRequest) -> list[dict[str, str]]:
    """Each changed field in words, before and after, phones masked like everywhere else."""
    changes = correction.change_list()
    towns = [c[side] for c in changes for side in ("old", "new") if c["field"] in _LOCALITY_FIELDS]
    places = localities(store.db(), [str(town or "") for town in towns])
    return [
        {
            "field": c["field"],
            "label": form_text.field_label(c["field"]),
            "old": _shown(c["field"], c["old"], places),
            "new": _shown(c["field"], c["new"], places),
            "reason": c.get("reason") or "",
            "proof": c.get("proof") or "",
        }
        for c in changes
    ]


def _application_of(application_id: int | None) -> Application | None:
    if application_id is None:
        return None
    return record_for(store.db(), g.user, Application, application_id)


# --- a family's form, in words --------------------------------------------------------------

_LOCALITY_FIELDS = ("registry_place", "residence_locality")


def _places_in(every: Iterable[dict[str, Any]]) -> list[str]:
    """The towns a form names (its registry and its residence), to show them by name."""
    found = []
    for pages in every:
        found.append(str((pages.get("personal") or {}).get("registry_place") or ""))
        found.append(str((pages.get("housing") or {}).get("residence_locality") or ""))
    return found


def household(
    pages: dict[str, Any], places: Mapping[str, Locality]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form's sections as (title, [(label, value)]), each member a section of its own."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for page in PAGES:
        data = pages.get(page) or {}
        if page == "family":
            for n, member in enumerate(data.get("members") or [], start=1):
                sections.append((_("Member %(n)s", n=n), _rows(member, MEMBER_FIELDS, places)))
        else:
            fields = [name for name in PAGE_FIELDS[page] if name in data]
            sections.append((str(form_text.PAGE_TITLES[page]), _rows(data, fields, places)))
    return sections


def _rows(
    data: Mapping[str, Any], fields: Iterable[str], places: Mapping[str, Locality]
) -> list[tuple[str, str]]:
    return [(str(form_text.LABELS.get(f, f)), _shown(f, data.get(f), places)) for f in fields]


def _shown(field: str, value: Any, places: Mapping[str, Locality]) -> str:
    """A stored value as the inspector reads it: phones masked, towns by name."""
    if field == "phone" and value:
        return masked(str(value))
    if field in _LOCALITY_FIELDS and value in places:
        place = places[value]
        name = place.name_ar if str(get_locale()) == "ar" else place.name_en
        return f"{name} ({value})"
    return form_text.value_text(field, value)
