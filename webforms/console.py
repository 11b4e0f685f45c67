"""The staff console's shell: who you are, where you work, what your role lets you do."""

from __future__ import annotations

from flask import Blueprint, g, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from core.geography import AreaLevel, District, Governorate, Locality
from core.programme import current_programme
from core.roles import PERMISSIONS, Permission, Role
from core.users import StaffUser
from web import store
from web.auth import staff_required

bp = Blueprint("console", __name__, template_folder="templates")

ROLE_LABELS = {
    Role.FOCAL_POINT: _l("Municipal focal point"),
    Role.MUKHTAR: _l("Mukhtar"),
    Role.VOLUNTEER: _l("Volunteer"),
    Role.QAIMAQAM: _l("Qaimaqam"),
    Role.GOVERNOR: _l("Governor"),
    Role.MINISTRY: _l("Ministry"),
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
    Permission.HANDLE_COMPLAINTS: _l("Take hotline calls and log complaints and corrections"),
    Permission.DECIDE_CORRECTIONS: _l("Approve or reject correction requests"),
    Permission.VIEW_LISTS: _l("Read the beneficiary lists"),
    Permission.RECORD_HANDOVERS: _l("Record each handover of aid"),
    Permission.MANAGE_USERS: _l("Manage staff accounts"),
}


@bp.get("/")
@bp.get("/console")
@staff_required()
def home() -> ResponseReturnValue:
    user: StaffUser = g.user
    programme = current_programme(store.db())
    window = None
    if programme is not None:
        window = (
            format_datetime(programme.opens_at, "medium"),
            format_datetime(programme.closes_at, "medium"),
            programme.is_open(),
        )
    duties = [DUTIES[p] for p in Permission if p in PERMISSIONS[user.role]]
    return render_template(
        "console/home.html",
        role=ROLE_LABELS[user.role],
        area=area_name(user),
        duties=duties,
        window=window,
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
