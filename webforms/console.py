"""The staff console's shell: who you are, where you work, what your role lets you do."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from core import audit
from core.applications import ApplicationStatus, applications_visible_to
from core.callback_requests import (
    CallbackRequest,
    CallbackStatus,
    callback_done,
    callback_for,
    callbacks_visible_to,
)
from core.geography import AreaLevel, District, Governorate, Locality
from core.link_lifecycle import OutsideWindow, TooManyLinks, issue_link
from core.links import (
    Channel,
    LinkState,
    LinkUnavailable,
    assisted_draft,
    link_state,
    links_visible_to,
)
from core.notifications import dispatch, may_text
from core.phones import NotLebaneseMobile, PhoneProblem, masked, normalise_mobile
from core.receipts import owe_link_sms
from core.references import grouped, grouped_ticket
from core.roles import PERMISSIONS, Permission, Role
from core.rounds import default_round
from core.sms_policy import Occasion, Withheld
from core.tickets import tickets_visible_to
from core.users import StaffUser
from texts import complaints as complaint_text
from texts import forms as form_text
from texts.sms import compose
from web import store
from web.auth import staff_required
from webforms.flow import FlowUrls, post_page, show_page

bp = Blueprint("console", __name__, template_folder="templates")

ROLE_LABELS = {
    Role.FOCAL_POINT: _l("Municipal focal point"),
    Role.MUKHTAR: _l("Mukhtar"),
    Role.VOLUNTEER: _l("Volunteer"),
    Role.QAIMAQAM: _l("Qaimaqam"),
    Role.GOVERNOR: _l("Governor"),
    Role.MINISTRY: _l("Ministry"),
    Role.HEALTH_MINISTRY: _l("Ministry of Public Health"),
    Role.INSPECTOR: _l("Central inspection"),
    Role.AGENT: _l("Complaint-room agent (1766)"),
    Role.COMMITTEE: _l("Technical committee"),
    Role.ARMY: _l("Army distribution officer"),
    Role.ADMIN: _l("Administrator"),
}

DUTIES = {
    Permission.VIEW_APPLICATIONS: _l("Read the household forms of your area"),
    Permission.ENTER_APPLICATIONS: _l("Fill household forms on a caller's behalf"),
    Permission.SEND_LINKS: _l("Send citizens one-time form links by SMS"),
    Permission.VIEW_MESSAGES: _l("Read the SMS and call log of your area"),
    Permission.VIEW_REPORTS: _l("Follow the reports of your area"),
    Permission.VIEW_AUDIT: _l("Inspect the audit trail"),
    Permission.VIEW_COMPLAINTS: _l("Read the complaints of your area"),
    Permission.HANDLE_COMPLAINTS: _l("Take hotline calls and log complaints and corrections"),
    Permission.DECIDE_CORRECTIONS: _l("Approve or reject correction requests"),
    Permission.DECIDE_DISPUTES: _l("Decide distribution disputes: confirm or revoke the voucher"),
    Permission.VIEW_LISTS: _l("Read the beneficiary lists"),
    Permission.RECORD_HANDOVERS: _l("Record each handover of aid"),
    Permission.MANAGE_USERS: _l("Manage staff accounts"),
    Permission.REPORT_CASES: _l("Report COVID-19 cases, their follow-ups and quarantine centres"),
    Permission.VIEW_CASE_DETAILS: _l("Read the contact details kept on a case"),
    Permission.RECORD_DECISIONS: _l("Record the decisions of your area"),
    Permission.PUBLISH_CIRCULARS: _l("Publish circulars to everyone"),
    Permission.FILE_NEEDS: _l("File the weekly report of your municipality's needs"),
    Permission.REQUEST_ACCOUNTS: _l("Request accounts for your municipality's helpers"),
    Permission.SEND_BROADCASTS: _l("Send information SMS to the residents of your area"),
    Permission.FLAG_APPLICATIONS: _l("Flag a form whose data look wrong"),
    Permission.REVIEW_FLAGS: _l("Review flagged forms and send them to the committee"),
    Permission.HOME_VISITS: _l("Draw samples of forms for home visits and record the visits"),
    Permission.VIEW_STAFF_WORK: _l("Follow the daily work of each account in your area"),
    Permission.APPROVE_LISTS: _l("Approve a published list before the army distributes it"),
    Permission.RECORD_DONATIONS: _l("Record the donations your area receives and allocate them"),
    Permission.VIEW_DONATIONS: _l("Follow the donations of your area and their balances"),
}


@bp.get("/")
@bp.get("/console")
@staff_required()
def home() -> ResponseReturnValue:
    user: StaffUser = g.user
    programme = default_round(store.db())  # the open round, else the latest (core/rounds.py)
    window = None
    if programme is not None:
        window = (
            format_datetime(programme.opens_at, "medium"),
            format_datetime(programme.closes_at, "medium"),
            programme.is_open(),
            programme.code,
        )
    duties = [DUTIES[p] for p in Permission if p in PERMISSIONS[user.role]]
    return render_template(
        "console/home.html",
        role=ROLE_LABELS[user.role],
        area=area_name(user),
        duties=duties,
        window=window,
        actions={p.value for p in PERMISSIONS[user.role]},
    )


def area_name(user: StaffUser) -> str:
    """The account's area in the page's language (Arabic names for Arabic, else English)."""
    from flask_babel import get_locale

    arabic = str(get_locale()) == "ar"
    area = user.area
    model = {
        AreaLevel.GOVERNORATE: Governorate,
        AreaLevel.DISTRICT: District,
        AreaLevel.LOCALITY: Locality,
    }.get(area.level)
    record = store.db().get(model, area.code) if model else None
    if record is None:
        return str(_l("Lebanon"))
    return str(record.name_ar if arabic else record.name_en)


# --- links, assisted forms, previous forms -------------------------------------------------


@bp.route("/console/links", methods=["GET", "POST"])
@staff_required(Permission.SEND_LINKS)
def links() -> ResponseReturnValue:
    """Send a one-time link by SMS, and follow the links already sent."""
    error, sent = None, request.args.get("sent")
    if request.method == "POST":
        error = _send_link()
        if error is None:
            return redirect(url_for("console.links", sent="1"))
    rows = [
        (link, link_state(link, message)) for link, message in links_visible_to(store.db(), g.user)
    ]
    return render_template(
        "console/links.html",
        rows=rows,
        error=error,
        sent=sent,
        masked=masked,
        phone=request.form.get("phone", ""),
        state_labels=LINK_STATES,
    ), (400 if error else 200)


def _send_link() -> str | None:
    """Issue, record the SMS, commit, then enqueue: the SMS is owed before it is queued."""
    session = store.db()
    language = request.form.get("language", "ar")
    if language not in ("ar", "en", "fr"):
        language = "ar"
    settings = current_app.config["INTAKE_SETTINGS"]
    try:
        phone = normalise_mobile(request.form.get("phone", ""))
        refused = may_text(session, phone, Occasion.NOTICE)  # no link nobody would receive
        if refused is not None:
            session.rollback()
            return str(SMS_WITHHELD[refused])
        link, _token = issue_link(
            session,
            g.user,
            phone,
            language,
            ttl_days=settings.link_ttl_days,
            token_key=settings.secret_key,
        )
    except NotLebaneseMobile as problem:
        return str(PHONE_PROBLEMS[problem.problem])
    except OutsideWindow:
        return str(form_text.WINDOW_CLOSED)
    except TooManyLinks:
        session.rollback()
        return str(_l("This number has received three links today. Try again tomorrow."))
    owing = owe_link_sms(session, link, settings.public_base_url, compose)
    audit.record(session, g.user.username, "link.sent", "link", str(link.id))
    session.commit()
    dispatch(current_app.extensions["intake.jobs"], owing.to_dispatch, new=True)
    return None


LINK_STATES = {
    LinkState.SENT: _l("SMS sent"),
    LinkState.DELIVERED: _l("SMS delivered"),
    LinkState.OPENED: _l("Opened"),
    LinkState.USED: _l("Form sent"),
    LinkState.EXPIRED: _l("Expired"),
    LinkState.FAILED: _l("SMS not delivered"),
}
APPLICATION_STATUSES = {
    ApplicationStatus.RECEIVED: _l("Received"),
    ApplicationStatus.INELIGIBLE: _l("Not eligible"),
    ApplicationStatus.NEEDS_REVIEW: _l("For the committee's review"),
}

SMS_WITHHELD = {
    Withheld.STOPPED: _l(
        "This number sent STOP to 1766: no SMS can be sent to it until it sends START."
    ),
    Withheld.DAILY_CAP: _l(
        "This number has received its three messages from 1766 today. Try again tomorrow."
    ),
}

PHONE_PROBLEMS = {
    PhoneProblem.INVALID: _l(
        "This is not a phone number. Type a Lebanese mobile number, e.g. 03 123 456."
    ),
    PhoneProblem.FOREIGN: _l(
        "This number is not Lebanese. Links go only to Lebanese mobile numbers."
    ),
    PhoneProblem.NOT_MOBILE: _l("This is a landline. Links are sent by SMS: type a mobile number."),
}


def _assisted_urls(link_id: int) -> FlowUrls:
    return FlowUrls(
        page=lambda page: url_for("console.assisted_page", link_id=link_id, page=page),
        on_unavailable=lambda: (
            render_template("form/unavailable.html", layout="form/console_layout.html"),
            404,
        ),
        layout="form/console_layout.html",
    )


@bp.post("/console/forms/new")
@staff_required(Permission.ENTER_APPLICATIONS)
def new_form() -> ResponseReturnValue:
    """Start a form filled during a phone call (assisted entry)."""
    session = store.db()
    try:
        link, _token = issue_link(
            session, g.user, None, str(get_locale() or "ar"), Channel.ASSISTED
        )
    except OutsideWindow:
        return render_template(
            "form/refused.html", layout="form/console_layout.html", reason=form_text.WINDOW_CLOSED
        ), 403
    audit.record(session, g.user.username, "form.assisted_started", "link", str(link.id))
    session.commit()
    return redirect(url_for("console.assisted_page", link_id=link.id, page="personal"))


@bp.route("/console/forms/<int:link_id>/<page>", methods=["GET", "POST"])
@staff_required(Permission.ENTER_APPLICATIONS)
def assisted_page(link_id: int, page: str) -> ResponseReturnValue:
    urls = _assisted_urls(link_id)
    try:
        link = assisted_draft(store.db(), g.user, link_id)
    except LinkUnavailable:
        return urls.on_unavailable()
    if request.method == "GET":
        return show_page(link, page, urls)
    return post_page(link, page, urls, entered_by_id=g.user.id)


@bp.get("/console/applications")
@staff_required(Permission.VIEW_APPLICATIONS)
def applications() -> ResponseReturnValue:
    """The area's previous forms, searchable by reference or phone."""
    query = request.args.get("q", "")[:40]
    rows = applications_visible_to(store.db(), g.user, query)
    return render_template(
        "console/applications.html",
        rows=rows,
        q=query,
        masked=masked,
        grouped=grouped,
        reasons=form_text.INELIGIBLE_REASONS,
        status_labels=APPLICATION_STATUSES,
    )


# --- call-backs: callers without a smartphone, routed to the municipality by 1766 ----------

CALLBACK_STATUSES = {
    CallbackStatus.OPEN: _l("Waiting for 1766 to route it"),
    CallbackStatus.ASSIGNED: _l("To call back"),
    CallbackStatus.DONE: _l("Called back"),
}


@bp.get("/console/complaints")
@staff_required(Permission.VIEW_COMPLAINTS)
def complaints() -> ResponseReturnValue:
    """The complaints of the area (a municipality never sees reports of misconduct)."""
    return render_template(
        "console/complaints.html",
        rows=tickets_visible_to(store.db(), g.user, limit=200),
        text=complaint_text,
        grouped_ticket=grouped_ticket,
    )


@bp.get("/console/callbacks")
@staff_required(Permission.ENTER_APPLICATIONS)
def callbacks() -> ResponseReturnValue:
    """The call-backs 1766 gave this municipality, numbers masked."""
    return _callbacks_page()


def _callbacks_page(shown: CallbackRequest | None = None) -> ResponseReturnValue:
    return render_template(
        "console/callbacks.html",
        rows=callbacks_visible_to(store.db(), g.user),
        shown=shown.id if shown else None,
        masked=masked,
        status_labels=CALLBACK_STATUSES,
        done=request.args.get("done"),
    )


def _callback(callback_id: int) -> CallbackRequest:
    """A call-back the user may see (their municipality's, once assigned), or 404."""
    callback = callback_for(store.db(), g.user, callback_id)
    if callback is None:
        abort(404)
    return callback


@bp.post("/console/callbacks/<int:callback_id>/number")
@staff_required(Permission.ENTER_APPLICATIONS)
def callback_number(callback_id: int) -> ResponseReturnValue:
    """The whole number, to call it: every look at it is in the audit trail.

    Answered on the POST itself: a page reached by GET would show the number unaudited.
    """
    session, callback = store.db(), _callback(callback_id)
    audit.record(session, g.user.username, "callback.viewed", "callback", str(callback.id))
    session.commit()
    return _callbacks_page(callback)


@bp.post("/console/callbacks/<int:callback_id>/done")
@staff_required(Permission.ENTER_APPLICATIONS)
def callback_called(callback_id: int) -> ResponseReturnValue:
    """Mark as called back; a second click changes nothing."""
    session, callback = store.db(), _callback(callback_id)
    if callback.status != CallbackStatus.DONE:
        callback_done(session, callback, g.user.username)
        session.commit()
    return redirect(url_for("console.callbacks", done="1"))
