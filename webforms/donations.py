"""Donations: recorded by a municipality or the ministry, allocated, followed within scope.

Thin views over `core.donations` (and `distribution.donation_allocations` for a family's
share). One page: the balances of the viewer's area by the next level down, the donations and
the allocations it may read, and, for those who record, the form to record a donation and the
form to allocate one. A refused form writes nothing (the request's transaction is rolled back)
and comes back filled in, each reason beside its field, as 400.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.area_counts import area_names
from core.clock import beirut_today
from core.donation_balances import NATIONAL_ROW, Balance, balances, totals
from core.donation_forms import (
    AMOUNT_OUT_OF_RANGE,
    MAX_DONOR,
    MAX_NOTE,
    MAX_UNIT,
    MAX_WHAT,
    NOT_AN_AMOUNT,
    RECEIVED_IN_FUTURE,
    RECEIVED_TOO_EARLY,
    DonationInvalid,
    clean_donation,
    clean_share,
)
from core.donations import (
    AboveBalance,
    AllocationTarget,
    Currency,
    Donation,
    DonationKind,
    DonorKind,
    NotARecorder,
    UnknownDonation,
    UnknownTarget,
    allocate_to_needs,
    allocations_visible_to,
    donations_to_allocate,
    donations_visible_to,
    donor_shown,
    managed_donation,
    record_donation,
    reports_to_allocate_to,
)
from core.fields import FieldError
from core.geography import Locality
from core.roles import Permission, can
from core.users import StaffUser
from distribution.donation_allocations import RevokedVoucher, allocate_to_family, voucher_codes
from texts.forms import error_text
from web import store
from web.auth import staff_required

bp = Blueprint("donations", __name__, template_folder="templates")

KINDS = {DonationKind.IN_KIND: _l("In kind"), DonationKind.CASH: _l("In cash")}
DONORS = {
    DonorKind.ORGANISATION: _l("An organisation (company, association, state)"),
    DonorKind.PERSON: _l("A private person"),
    DonorKind.ANONYMOUS: _l("Anonymous"),
}
TARGETS = {
    AllocationTarget.NEEDS: _l("The weekly needs of a municipality"),
    AllocationTarget.FAMILY: _l("A family on a published list (by its voucher code)"),
}
ERRORS = {
    NOT_AN_AMOUNT: _l("Enter an amount in digits, with at most two decimals, e.g. 1500 or 12.5."),
    AMOUNT_OUT_OF_RANGE: _l("Enter an amount above 0 and at most %(max)s."),
    RECEIVED_IN_FUTURE: _l("A donation is recorded once received: the date cannot be after today."),
    RECEIVED_TOO_EARLY: _l("Donations are recorded from 1 January 2020."),
}
RECORD_FIELDS = (
    "kind",
    "donor_kind",
    "donor_name",
    "what",
    "unit",
    "currency",
    "quantity",
    "received_on",
)
ALLOCATE_FIELDS = ("donation", "target", "report", "voucher", "quantity", "note")
_MAX_ID = 2_147_483_647


def amount(value: Decimal) -> str:
    """A quantity or amount as the reader writes numbers: thousands grouped, cents if any."""
    return str(format_decimal(value, format="#,##0.##"))


def _field_text(error: FieldError) -> str:
    if error.code in ERRORS:
        return str(ERRORS[error.code]) % {k: amount(Decimal(v)) for k, v in error.params.items()}
    return error_text(error)


@bp.get("/console/donations")
@staff_required(Permission.VIEW_DONATIONS)
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/console/donations")
@staff_required(Permission.RECORD_DONATIONS)
def record() -> ResponseReturnValue:
    """Record a donation the user's area received; refused fields write nothing."""
    session = store.db()
    try:
        record_donation(session, g.user, clean_donation(request.form.to_dict(flat=False)))
    except DonationInvalid as invalid:
        session.rollback()
        return _page(record_errors={e.field: _field_text(e) for e in invalid.errors})
    except NotARecorder:  # the permission says otherwise; kept for the core's contract
        session.rollback()
        return _page(record_errors={"kind": _("Your account records no donations.")})
    session.commit()
    return redirect(url_for("donations.index", done="recorded"))


@bp.post("/console/donations/allocate")
@staff_required(Permission.RECORD_DONATIONS)
def allocate() -> ResponseReturnValue:
    """Give part of a donation to a week's needs or to a family; never more than is left."""
    session = store.db()
    try:
        _allocate(session, g.user)
    except AllocationRefused as refused:
        session.rollback()
        return _page(allocate_errors=refused.errors)
    session.commit()
    return redirect(url_for("donations.index", done="allocated"))


class AllocationRefused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def _allocate(session: Session, user: StaffUser) -> None:
    """The allocation as posted, or `AllocationRefused` with a reason per field."""
    target = request.form.get("target", "")
    try:
        donation = managed_donation(session, user, _posted_id("donation"))
        share = clean_share(request.form.to_dict(flat=False), donation)
        if target == AllocationTarget.FAMILY:
            allocate_to_family(session, user, donation, request.form.get("voucher", ""), share)
        elif target == AllocationTarget.NEEDS:
            allocate_to_needs(session, user, donation, _posted_id("report"), share)
        else:
            raise AllocationRefused({"target": str(_("Choose what the donation is given to."))})
    except UnknownDonation:
        raise AllocationRefused({"donation": _("Choose one of your area's donations.")}) from None
    except DonationInvalid as invalid:
        raise AllocationRefused({e.field: _field_text(e) for e in invalid.errors}) from None
    except RevokedVoucher:
        revoked = _("This voucher was revoked: give to the family's new voucher, if it has one.")
        raise AllocationRefused({"voucher": revoked}) from None
    except UnknownTarget:
        raise AllocationRefused(_unknown_target(target)) from None
    except AboveBalance as above:
        left = _(
            "Only %(left)s is left of this donation: nothing was allocated.",
            left=amount(above.remaining),
        )
        raise AllocationRefused({"quantity": left}) from None


def _unknown_target(target: str) -> dict[str, str]:
    if target == AllocationTarget.FAMILY:
        return {"voucher": _("No voucher of a family in this donation's area has this code.")}
    return {"report": _("Choose one of the needs reports offered.")}


def _posted_id(name: str) -> int:
    """A posted id, or 0 (no record has it) when it is not one."""
    typed = request.form.get(name, "").strip()
    return int(typed) if typed.isascii() and typed.isdigit() and int(typed[:10]) <= _MAX_ID else 0


# --- the page ------------------------------------------------------------------------------


def _page(
    record_errors: dict[str, str] | None = None, allocate_errors: dict[str, str] | None = None
) -> ResponseReturnValue:
    session, user = store.db(), g.user
    rows = balances(session, user)
    allocations = allocations_visible_to(session, user)
    recorder = can(user.role, Permission.RECORD_DONATIONS)
    return render_template(
        "donations/index.html",
        balances=rows,
        totals=totals(rows),
        area_label=balance_labels(user),
        donations=donations_visible_to(session, user),
        allocations=allocations,
        codes=voucher_codes(session, allocations),
        recorder=recorder,
        to_allocate=donations_to_allocate(session, user) if recorder else [],
        reports=reports_to_allocate_to(session, user, beirut_today()) if recorder else [],
        record_form=_posted(RECORD_FIELDS) if record_errors else {},
        allocate_form=_posted(ALLOCATE_FIELDS) if allocate_errors else {},
        record_errors=record_errors or {},
        allocate_errors=allocate_errors or {},
        done=request.args.get("done"),
        today=beirut_today().isoformat(),
    ), (400 if record_errors or allocate_errors else 200)


def dashboard_balances(user: StaffUser) -> dict[str, Any] | None:
    """The dashboard's donations table: the page's balances, for a viewer who may read them."""
    if not can(user.role, Permission.VIEW_DONATIONS):
        return None
    rows = balances(store.db(), user)
    return {"balances": rows, "totals": totals(rows), "area_label": balance_labels(user)}


def _posted(names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def balance_labels(user: StaffUser) -> dict[str, str]:
    """The rows of a viewer's balances by code, named in the page's language."""
    arabic = str(get_locale()) == "ar"
    names = area_names(store.db(), user.area)
    labels = {code: ar if arabic else en for code, (ar, en) in names.items()}
    labels[NATIONAL_ROW] = _("National (the ministry)")
    return labels


def item(row: Balance | Donation) -> str:
    """What a balance or donation counts: the goods and their unit, or the currency."""
    if row.kind == DonationKind.CASH:
        return row.what
    return str(_("%(what)s (%(unit)s)", what=row.what, unit=row.unit))


def donor(donation: Donation) -> str:
    shown = donor_shown(g.user, donation)
    if donation.donor_kind == DonorKind.ANONYMOUS:
        return str(DONORS[DonorKind.ANONYMOUS])
    if shown is None:
        return str(DONORS[DonorKind.PERSON])
    return shown


def place(locality: Locality) -> str:
    return locality.name_ar if str(get_locale()) == "ar" else locality.name_en


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "donation_amount": amount,
        "donation_place": place,
        "donation_item": item,
        "donation_donor": donor,
        "donation_kinds": KINDS,
        "donor_kinds": DONORS,
        "donation_targets": TARGETS,
        "currencies": tuple(Currency),
        "donation_limits": {
            "donor": MAX_DONOR,
            "what": MAX_WHAT,
            "unit": MAX_UNIT,
            "note": MAX_NOTE,
        },
    }
