"""The complaint room's console (`/hotline`): the queue, callers, tickets, call-backs.

Agents take calls and log complaints and corrections; the committee decides corrections and
watches the overdue tickets. Every page that shows a family's record is an audit event.
Corrections are in `hotline/corrections.py`; the blueprint and what both share in
`hotline/room.py`.
"""

from __future__ import annotations

from typing import cast

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core import audit
from core.applications import applications_of_phone
from core.callback_requests import assign_callback, callback_for, callbacks_visible_to
from core.calls import call_for, take_next_call, waiting_calls
from core.citizen_requests import is_lebanese_mobile
from core.corrections import CorrectionStatus, corrections_visible_to
from core.db import utcnow
from core.geography import UnknownArea, locality_area
from core.notifications import Sms
from core.phones import masked
from core.roles import Permission, can
from core.sayings import ComplaintTicket, TicketDecision
from core.sms_policy import Occasion
from core.tickets import (
    CLOSED,
    NoteRequired,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketClosed,
    TicketStatus,
    decide,
    open_ticket,
    take,
    tickets_visible_to,
)
from hotline.corrections import ticket_page  # and the corrections' routes, on `bp`
from hotline.dialer import Dialer, DialFailed, dialer_for
from hotline.disputes import is_dispute  # and the disputes' route, on `bp`
from hotline.room import bp, form_text, owe_and_send, room_required, settings, ticket_or_404
from texts import complaint_room as texts
from texts.scores import score_view
from texts.sms import compose
from web import store
from web.auth import staff_required
from web.cross_site import same_site_only

# --- the room's home: the queue and the work waiting --------------------------------------


@bp.get("")
@room_required
def home() -> ResponseReturnValue:
    session, user = store.db(), g.user
    agent = can(user.role, Permission.HANDLE_COMPLAINTS)
    return render_template(
        "hotline/home.html",
        agent=agent,
        waiting=waiting_calls(session, user) if agent else [],
        mine=[t for t in tickets_visible_to(session, user, limit=200) if t.assignee_id == user.id]
        if agent
        else [],
        open_tickets=tickets_visible_to(session, user, status=TicketStatus.OPEN, limit=50),
        overdue=tickets_visible_to(session, user, overdue_only=True, limit=50),
        pending=corrections_visible_to(session, user, status=CorrectionStatus.PENDING),
        callbacks=[c for c in callbacks_visible_to(session, user) if c.status == "open"]
        if agent
        else [],
        now=utcnow(),
        masked=masked,
        labels=texts,
        dial_error=request.args.get("dial_error"),
    )


@bp.post("/take-next")
@staff_required(Permission.HANDLE_COMPLAINTS)
def take_next() -> ResponseReturnValue:
    """Ring the agent's phone with TwiML that dials the queue; show the caller it will bring."""
    session, user = store.db(), g.user
    if not user.phone:
        return redirect(url_for("hotline.home", dial_error="no_phone"))
    call = take_next_call(session, user)
    if call is None:
        session.rollback()
        return redirect(url_for("hotline.home", dial_error="empty"))
    try:
        _dialer().ring_agent(user.phone)
    except DialFailed:
        session.rollback()  # the caller stays in the queue for the next agent
        return redirect(url_for("hotline.home", dial_error="failed"))
    audit.record(session, user.username, "call.taken", "call", str(call.id))
    session.commit()
    return redirect(url_for("hotline.caller", call_id=call.id))


def _dialer() -> Dialer:
    dialer = current_app.extensions.get("intake.dialer")
    return cast(Dialer, dialer) if dialer is not None else dialer_for(settings())


@bp.get("/calls/<int:call_id>")
@staff_required(Permission.HANDLE_COMPLAINTS)
def caller(call_id: int) -> ResponseReturnValue:
    """The caller's number and everything linked to it: what the agent needs to answer."""
    session, user = store.db(), g.user
    call = call_for(session, user, call_id)
    if call is None:
        abort(404)
    audit.record(session, user.username, "caller.viewed", "call", str(call.id))
    session.commit()
    applications = applications_of_phone(session, user, call.phone)
    return render_template(
        "hotline/caller.html",
        call=call,
        applications=applications,
        scores={a.id: score_view(session, a) for a in applications},
        tickets=tickets_visible_to(session, user, phone=call.phone),
        callbacks=[
            c for c in callbacks_visible_to(session, user, limit=500) if c.phone == call.phone
        ],
        labels=texts,
        categories=texts.CATEGORIES,
    )


@bp.post("/calls/<int:call_id>/tickets")
@staff_required(Permission.HANDLE_COMPLAINTS)
def new_ticket(call_id: int) -> ResponseReturnValue:
    """A complaint the agent logs during the call (its number goes to the caller by SMS)."""
    session, user = store.db(), g.user
    call = call_for(session, user, call_id)
    if call is None:
        abort(404)
    try:
        category = TicketCategory(request.form.get("category", ""))
    except ValueError:
        abort(400)
    application = next(
        (
            a
            for a in applications_of_phone(session, user, call.phone)
            if str(a.id) == request.form.get("application_id")
        ),
        None,
    )
    ticket = open_ticket(
        session,
        phone=call.phone,
        channel=TicketChannel.AGENT,
        language=call.language,
        category=category,
        text=form_text("text") or None,
        application=application,
        logged_by_id=user.id,
        deadlines=settings().ticket_deadlines,
    )
    take(session, ticket, user.id, user.username)
    audit.record(session, user.username, "ticket.opened", "ticket", str(ticket.id))
    sms = _ticket_number_sms(ticket)
    return redirect(url_for("hotline.ticket", ticket_id=ticket.id, sms=sms))


def _ticket_number_sms(ticket: Ticket) -> str:
    """The ticket's number to the caller, in the call's language; commits the ticket.

    A notice (the agent logged it), so STOP and the daily cap apply; a landline or a
    withheld number cannot take an SMS, and the agent reads the number out instead.
    """
    if not is_lebanese_mobile(ticket.phone):
        store.db().commit()
        return "no_mobile"
    body = compose(ComplaintTicket(ticket.number), ticket.language)
    return owe_and_send(Sms(ticket.phone, body, ticket.language, "ticket"), Occasion.NOTICE)


# --- tickets ------------------------------------------------------------------------------


@bp.get("/tickets")
@room_required
def tickets() -> ResponseReturnValue:
    status = request.args.get("status", "")
    status = status if status in set(TicketStatus) else ""
    overdue = request.args.get("overdue") == "1"
    rows = tickets_visible_to(store.db(), g.user, status=status or None, overdue_only=overdue)
    return render_template(
        "hotline/tickets.html",
        rows=rows,
        status=status,
        overdue=overdue,
        labels=texts,
        now=utcnow(),
        masked=masked,
    )


@bp.get("/tickets/<int:ticket_id>")
@room_required
def ticket(ticket_id: int) -> ResponseReturnValue:
    return ticket_page(ticket_id)


@bp.post("/tickets/<int:ticket_id>/take")
@staff_required(Permission.HANDLE_COMPLAINTS)
def take_ticket(ticket_id: int) -> ResponseReturnValue:
    session, user = store.db(), g.user
    found = ticket_or_404(ticket_id)
    try:
        take(session, found, user.id, user.username)
    except TicketClosed:
        session.rollback()
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, error="closed"))
    session.commit()
    return redirect(url_for("hotline.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/decide")
@staff_required(Permission.HANDLE_COMPLAINTS)
def decide_ticket(ticket_id: int) -> ResponseReturnValue:
    """Resolve, reject or refer, and tell the citizen by SMS what was decided."""
    session, user = store.db(), g.user
    found = ticket_or_404(ticket_id)
    if is_dispute(found):  # a distribution dispute: the technical committee decides it
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, error="dispute_committee"))
    status = request.form.get("status", "")
    if status not in {s.value for s in CLOSED}:
        abort(400)
    try:
        decide(session, found, TicketStatus(status), form_text("note"), user.username)
    except (NoteRequired, TicketClosed) as refused:
        session.rollback()
        error = "note" if isinstance(refused, NoteRequired) else "closed"
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, error=error))
    if not found.tells_citizen:  # raised by staff about the family (a flag): nobody is texted
        session.commit()
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, decided="1", sms="staff"))
    decision = TicketDecision(found.number, TicketStatus(found.status), found.resolution or "")
    sms = Sms(found.phone, compose(decision, found.language), found.language, "ticket_decision")
    sent = owe_and_send(sms, Occasion.DECISION)  # commits
    return redirect(url_for("hotline.ticket", ticket_id=ticket_id, decided="1", sms=sent))


@bp.get("/tickets/<int:ticket_id>/recording")
@same_site_only  # each play is audited: another site's link must not cause one
@room_required
def recording(ticket_id: int) -> ResponseReturnValue:
    from hotline.recordings import play

    session, user = store.db(), g.user
    found = ticket_or_404(ticket_id)
    if not found.recording_url:
        abort(404)
    audit.record(session, user.username, "recording.played", "ticket", str(found.id))
    session.commit()
    return play(found.recording_url, settings())


# --- call-back requests -------------------------------------------------------------------


@bp.get("/callbacks")
@staff_required(Permission.HANDLE_COMPLAINTS)
def callbacks() -> ResponseReturnValue:
    return render_template(
        "hotline/callbacks.html",
        rows=callbacks_visible_to(store.db(), g.user),
        masked=masked,
        error=request.args.get("error"),
    )


@bp.post("/callbacks/<int:callback_id>/assign")
@staff_required(Permission.HANDLE_COMPLAINTS)
def assign(callback_id: int) -> ResponseReturnValue:
    """Give the call-back to the municipality of the caller's town (a locality code)."""
    session, user = store.db(), g.user
    callback = callback_for(session, user, callback_id)
    if callback is None:
        abort(404)
    try:
        town = locality_area(session, form_text("locality", 12))
    except UnknownArea:
        session.rollback()
        return redirect(url_for("hotline.callbacks", error="unknown_locality"))
    assign_callback(session, callback, town, user.username)
    session.commit()
    return redirect(url_for("hotline.callbacks"))
