"""The ticket page, and corrections: logged by an agent, decided by another committee member."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core import audit
from core.applications import Application, versions_of
from core.clock import beirut_today
from core.correction_changes import (
    MAX_CHANGES,
    Change,
    CorrectionInvalid,
    NothingToCorrect,
    current_values,
)
from core.correction_decisions import (
    AlreadyDecided,
    NotCommittee,
    OwnCorrection,
    ReasonRequired,
    StaleCorrection,
    decide_correction,
    log_correction,
)
from core.correction_links import issue_correction_link
from core.corrections import (
    CorrectionRequest,
    CorrectionSource,
    correction_for,
    corrections_of_ticket,
    corrections_visible_to,
)
from core.link_lifecycle import TooManyLinks
from core.link_tokens import stored_url
from core.notifications import Sms, may_text
from core.phones import masked
from core.roles import Permission, can
from core.sayings import CorrectionDecision, CorrectionLink
from core.score_requests import dispatch_scoring
from core.sms_policy import Occasion
from core.submissions import DuplicateFamily
from core.tickets import CLOSED
from core.users import StaffUser
from distribution.outcome_changes import vouchers_after_correction
from distribution.voucher_keys import signing_key
from hotline.room import bp, form_text, owe_and_send, room_required, settings, ticket_or_404
from texts import complaint_room as texts
from texts.forms import error_text, field_label, value_text
from texts.sms import compose
from web import store
from web.auth import staff_required

ROWS = 5  # change rows offered at once on the page


def ticket_page(
    ticket_id: int, errors: list[str] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The ticket, the recording, the caller's application and its corrections."""
    session, user = store.db(), g.user
    found = ticket_or_404(ticket_id)
    application = session.get(Application, found.application_id) if found.application_id else None
    audit.record(session, user.username, "ticket.viewed", "ticket", str(found.id))
    if application is not None:
        audit.record(
            session, user.username, "application.viewed", "application", str(application.id)
        )
    session.commit()
    return render_template(
        "hotline/ticket.html",
        ticket=found,
        application=application,
        values=current_values(application.pages()) if application else [],
        versions=versions_of(session, application.id) if application else [],
        corrections=corrections_of_ticket(session, found.id),
        closed=CLOSED,
        agent=can(user.role, Permission.HANDLE_COMPLAINTS),
        committee=can(user.role, Permission.DECIDE_CORRECTIONS),
        labels=texts,
        field_label=field_label,
        value_text=value_text,
        masked=masked,
        rows=ROWS,
        errors=errors or [],
        error=request.args.get("error"),
        notice=request.args.get("notice"),
    ), status


@bp.post("/tickets/<int:ticket_id>/corrections")
@staff_required(Permission.HANDLE_COMPLAINTS)
def log(ticket_id: int) -> ResponseReturnValue:
    """The agent's field-by-field correction, checked by the form's own rules."""
    session, user = store.db(), g.user
    found = ticket_or_404(ticket_id)
    if found.application_id is None:
        abort(404)
    application = session.get_one(Application, found.application_id)
    try:
        log_correction(
            session,
            found,
            application,
            _posted_changes(),
            source=CorrectionSource.AGENT,
            logged_by_id=user.id,
            actor=user.username,
            today=beirut_today(),
        )
    except CorrectionInvalid as refused:
        session.rollback()
        messages = [f"{field_label(e.field)}: {error_text(e)}" for e in refused.errors]
        return ticket_page(ticket_id, messages, 400)
    except NothingToCorrect:
        session.rollback()
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, error="nothing"))
    session.commit()
    return redirect(url_for("hotline.ticket", ticket_id=ticket_id, notice="logged"))


def _posted_changes() -> list[Change]:
    """The filled rows of the form (a row with no field chosen is ignored)."""
    changes = []
    for n in range(MAX_CHANGES + 1):
        field = request.form.get(f"field-{n}", "")[:60]
        if field:
            changes.append(
                Change(
                    field,
                    form_text(f"new-{n}", 300),
                    form_text(f"reason-{n}", 300),
                    form_text(f"proof-{n}", 300),
                )
            )
    return changes


@bp.post("/tickets/<int:ticket_id>/correction-link")
@staff_required(Permission.HANDLE_COMPLAINTS)
def send_link(ticket_id: int) -> ResponseReturnValue:
    """A one-time link by SMS, for the citizen to propose the changes themselves."""
    session, user = store.db(), g.user
    found = ticket_or_404(ticket_id)
    if found.application_id is None:
        abort(404)
    application = session.get_one(Application, found.application_id)
    # A notice to the family's phone (the caller may be someone else): no link it won't get.
    refused = may_text(session, application.phone, Occasion.NOTICE)
    if refused is not None:
        session.rollback()
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, sms=refused.value))
    try:
        link, _token = issue_correction_link(
            session, application, settings().link_ttl_days, token_key=settings().secret_key
        )
    except TooManyLinks:
        session.rollback()
        return redirect(url_for("hotline.ticket", ticket_id=ticket_id, error="too_many_links"))
    audit.record(
        session, user.username, "correction_link.sent", "link", str(link.id), {"ticket": found.id}
    )
    url = stored_url(settings().public_base_url, link)
    body = compose(CorrectionLink(application.reference, url), found.language)
    sent = owe_and_send(
        Sms(application.phone, body, found.language, "correction_link"), Occasion.NOTICE
    )
    return redirect(url_for("hotline.ticket", ticket_id=ticket_id, notice="link_sent", sms=sent))


# --- the committee ------------------------------------------------------------------------


@bp.get("/corrections")
@room_required
def corrections() -> ResponseReturnValue:
    status = request.args.get("status", "pending")
    rows = corrections_visible_to(
        store.db(), g.user, status=status if status in texts.CORRECTION_STATUSES else None
    )
    return render_template(
        "hotline/corrections.html", rows=rows, status=status, labels=texts, field_label=field_label
    )


@bp.post("/corrections/<int:correction_id>/decide")
@staff_required(Permission.DECIDE_CORRECTIONS)
def decide(correction_id: int) -> ResponseReturnValue:
    """Approve or reject; never one's own. The citizen is told either way."""
    session, user = store.db(), g.user
    correction = correction_for(session, user, correction_id)
    if correction is None:
        abort(404)
    approve = request.form.get("decision") == "approve"
    error = _decide(correction, user, approve)
    if error:
        session.rollback()
        return redirect(url_for("hotline.ticket", ticket_id=correction.ticket_id, error=error))
    application = session.get_one(Application, correction.application_id)
    if approve:  # an exclusion or a new head: the family's voucher is revoked (and reissued)
        key = signing_key(settings().voucher_signing_key_file)
        vouchers_after_correction(session, correction, application, key, user.username)
    language = application.language
    decision = CorrectionDecision(application.reference, approve, correction.decision_note or "")
    body = compose(decision, language)
    sms = Sms(application.phone, body, language, "correction_decision")
    sent = owe_and_send(sms, Occasion.DECISION)  # commits
    if approve:  # the new version is scored; were the queue down, `scoring sweep` finds it
        dispatch_scoring(current_app.extensions["intake.jobs"], application.id, application.version)
    return redirect(
        url_for("hotline.ticket", ticket_id=correction.ticket_id, notice="decided", sms=sent)
    )


_REFUSALS: dict[type[Exception], str] = {
    OwnCorrection: "own",
    NotCommittee: "own",
    AlreadyDecided: "decided",
    StaleCorrection: "stale",
    ReasonRequired: "reason",
    DuplicateFamily: "duplicate",
    CorrectionInvalid: "invalid",
}


def _decide(correction: CorrectionRequest, user: StaffUser, approve: bool) -> str | None:
    try:
        decide_correction(
            store.db(),
            correction,
            user,
            approve=approve,
            note=form_text("note", 300),
            today=beirut_today(),
        )
    except tuple(_REFUSALS) as refused:
        return _REFUSALS[type(refused)]
    return None


def changes_for_display(correction: CorrectionRequest) -> list[dict[str, str]]:
    return [
        {
            "label": field_label(c["field"]),
            "old": value_text(c["field"], c["old"]),
            "new": value_text(c["field"], c["new"]),
            "reason": c["reason"],
            "proof": c["proof"],
        }
        for c in correction.change_list()
    ]


@bp.app_template_global("correction_changes")
def correction_changes(correction: CorrectionRequest) -> list[dict[str, str]]:
    return changes_for_display(correction)
