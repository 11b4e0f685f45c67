"""The army's distribution pages: lists, municipalities' exports, checking vouchers, handovers.

Thin views over `distribution.queries` (what is shown) and `distribution.handovers` (what is
recorded). Exports and every look at a beneficiary are audit events committed before the page
or the file is sent; a refused record leaves nothing behind (the request's transaction is
rolled back unless the view commits).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from markupsafe import Markup

from core import audit
from core.clock import beirut_today
from core.ed25519_keys import fingerprint, public_key_pem
from core.references import grouped
from core.roles import Permission, can
from core.rounds import round_code
from core.scopes import OutsideArea
from distribution import queries as distribution
from distribution.approvals import ApprovalPending
from distribution.assists import NotAssigned
from distribution.declarations import BadDeclaration, record_declared_refusal
from distribution.handovers import (
    BadReason,
    ChecksMissing,
    HandoverOutcome,
    Voucher,
    VoucherAlreadyUsed,
    VoucherDisputed,
    issue_vouchers,
    record_dispute,
    record_handover,
)
from distribution.revocation_list import VoucherRevoked
from distribution.revocations import published_revocations
from scoring.lists import BeneficiaryList
from texts import handover_circular as circular
from texts import handovers as text
from web import store
from web.auth import staff_required
from web.rounds import picked_round, round_codes
from webforms.csv_export import csv_download
from webforms.handover_team import chosen_assistant, declared, note
from webforms.list_approval import approval_state, refuse_unapproved
from webforms.voucher_pages import (
    look_up,
    render_voucher,
    signing_key_of_app,
    voucher_by_code,
)

bp = Blueprint("handover", __name__, template_folder="templates")

LIST_ID = "int(max=2147483647)"
LOCALITY = "string(length=5)"
CSV_COLUMNS = (
    *("reference", "head_name", "head_id_number", "phone", "voucher_code", "voucher_token"),
    *("delivery_address", "second_phone"),  # the army delivers at home (the circular)
)
ROUND_COLUMN = "round"  # last: the code of the round the list belongs to


def _public() -> Ed25519PublicKey:
    return signing_key_of_app().public_key()


@bp.get("/vouchers/public-key.pem")
def public_key() -> ResponseReturnValue:
    """Published to anyone: with it a voucher can be checked offline."""
    pem = public_key_pem(_public())
    return Response(pem, content_type="text/plain; charset=us-ascii")


@bp.get("/vouchers/revoked")
def revoked() -> ResponseReturnValue:
    """Published to anyone: the revoked vouchers, signed with the voucher key (offline checks)."""
    document = published_revocations(store.db(), signing_key_of_app())
    return Response(document, content_type="text/plain; charset=us-ascii")


# --- lists and municipalities --------------------------------------------------------------


@bp.get("/console/lists")
@staff_required(Permission.VIEW_LISTS)
def lists() -> ResponseReturnValue:
    session, programme = store.db(), picked_round()  # ?round=CODE, else the default round
    rows = distribution.lists_of_programme(session, g.user, programme.id) if programme else []
    return render_template(
        "handover/lists.html", rows=rows, counted=programme, round_codes=round_codes()
    )


def _list(list_id: int) -> BeneficiaryList:
    found = store.db().get(BeneficiaryList, list_id)
    return found if found is not None else abort(404)


@bp.get(f"/console/lists/<{LIST_ID}:list_id>")
@staff_required(Permission.VIEW_LISTS)
def list_page(list_id: int) -> ResponseReturnValue:
    beneficiary_list = _list(list_id)
    return render_template(
        "handover/list.html",
        beneficiary_list=beneficiary_list,
        round_code=round_code(store.db(), beneficiary_list.programme_id),
        rows=distribution.municipalities(store.db(), g.user, list_id),
        arabic=str(get_locale()) == "ar",
        can_export=can(g.user.role, Permission.RECORD_HANDOVERS),
        approval=approval_state(beneficiary_list),
        not_published=text.NOT_PUBLISHED,
    )


def _issued(list_id: int, locality: str, kind: str) -> tuple[Any, list[distribution.Beneficiary]]:
    """A municipality's vouchers, issued if need be; the export is on record before it leaves."""
    session, beneficiary_list = store.db(), _list(list_id)
    place = distribution.municipality(session, g.user, list_id, locality)
    if place is None or beneficiary_list.published_at is None:
        abort(404)
    refuse_unapproved(list_id)  # the committee's two approvals first (409 with the words)
    vouchers = issue_vouchers(
        session, beneficiary_list, locality, signing_key_of_app(), g.user.username
    )
    details: dict[str, audit.Scalar] = {"locality": locality, "format": kind, "rows": len(vouchers)}
    audit.record(session, g.user.username, "export.vouchers", "list", str(list_id), details)
    rows = distribution.beneficiaries(session, vouchers)
    session.commit()
    return place, rows


# Exports issue vouchers and are audited: POSTs with the form's CSRF token (buttons on the list's
# page), so that a link, even on another site, exports nothing. A GET (an old bookmark) leads
# back to those buttons.
EXPORT_CSV = f"/console/lists/<{LIST_ID}:list_id>/<{LOCALITY}:locality>.csv"
EXPORT_PRINT = f"/console/lists/<{LIST_ID}:list_id>/<{LOCALITY}:locality>/print"


@bp.get(EXPORT_CSV, endpoint="export_csv_page")
@bp.get(EXPORT_PRINT, endpoint="export_print_page")
@staff_required(Permission.RECORD_HANDOVERS)
def export_buttons(list_id: int, locality: str) -> ResponseReturnValue:
    return redirect(url_for("handover.list_page", list_id=list_id), code=303)


@bp.post(EXPORT_CSV)
@staff_required(Permission.RECORD_HANDOVERS)
def export_csv(list_id: int, locality: str) -> ResponseReturnValue:
    _place, rows = _issued(list_id, locality, "csv")
    lines = [
        (r.reference, r.name, r.id_number, r.phone, r.code, r.token, r.address, r.second_phone)
        for r in rows
    ]
    code = round_code(store.db(), _list(list_id).programme_id)
    day = beirut_today().isoformat()
    return csv_download(
        f"vouchers-list{list_id}-{locality}-{day}.csv",
        (*CSV_COLUMNS, ROUND_COLUMN),
        [(*line, code) for line in lines],
    )


@bp.post(EXPORT_PRINT)
@staff_required(Permission.RECORD_HANDOVERS)
def export_print(list_id: int, locality: str) -> ResponseReturnValue:
    place, rows = _issued(list_id, locality, "print")
    return render_template(
        "handover/print.html",
        list_id=list_id,
        place=place,
        arabic=str(get_locale()) == "ar",
        rows=rows,
        qr=_qr_svg,
        grouped=grouped,
        fingerprint=fingerprint(_public()),
    )


def _qr_svg(token: str) -> Markup:
    """The token as an inline SVG QR code (no image request; the page works offline)."""
    import segno

    svg = segno.make(token, error="m").svg_inline(scale=3, omitsize=False)
    return Markup(svg)  # noqa: S704 - segno's own markup of an ASCII token


# --- checking a voucher and recording what happened ----------------------------------------


@bp.route("/console/vouchers/verify", methods=["GET", "POST"])
@staff_required(Permission.VIEW_LISTS)
def verify() -> ResponseReturnValue:
    """Scan or type a voucher: valid or not and why, used or not, and the handover form."""
    if request.method == "GET":
        return render_voucher(None)
    looked = look_up(request.form.get("voucher", ""), _public())
    return render_voucher(looked)


@bp.get("/console/vouchers/<code>")
@staff_required(Permission.VIEW_LISTS)
def voucher_page(code: str) -> ResponseReturnValue:
    looked = voucher_by_code(code, _public())
    recorded = request.args.get("recorded", "")
    return render_voucher(looked, recorded=text.RECORDED.get(recorded))


@bp.post("/console/vouchers/<code>/handover")
@staff_required(Permission.RECORD_HANDOVERS)
def handover(code: str) -> ResponseReturnValue:
    """Handed over (both checks ticked), refused or disputed (with a reason)."""
    looked = voucher_by_code(code, _public())
    if looked.voucher is None:
        return render_voucher(looked)
    outcome = request.form.get("outcome", "")
    error, status = _record(looked.voucher, outcome)
    if error is not None:
        store.db().rollback()  # nothing of a refused record is kept
        page, _status = render_voucher(voucher_by_code(code, _public()), error=error)
        return page, status
    store.commit()
    return redirect(url_for("handover.voucher_page", code=code, recorded=outcome))


def _record(voucher: Voucher, outcome: str) -> tuple[Any, int]:
    """Record one outcome; the words of what stopped it and the status, or (None, 200)."""
    session, form = store.db(), request.form
    try:
        assistant = chosen_assistant(session, voucher, form.get("assisted_by", ""))
        if outcome == HandoverOutcome.HANDED_OVER:
            checks = (form.get("id_seen") == "yes", form.get("signature_obtained") == "yes")
            made = record_handover(session, voucher, g.user, *checks)
        elif outcome == HandoverOutcome.REFUSED:
            reason = form.get("reason", "")[:2000]
            made = record_declared_refusal(session, voucher, g.user, reason, declared(form))
        elif outcome == HandoverOutcome.DISPUTED:
            deadlines = current_app.config["INTAKE_SETTINGS"].ticket_deadlines
            reason = form.get("reason", "")[:2000]
            made = record_dispute(session, voucher, g.user, reason, deadlines)
        else:
            return text.CHOOSE_OUTCOME, 400
        note(session, made, assistant)  # who assisted, if someone did
    except ChecksMissing:
        return text.CHECKS_MISSING, 400
    except BadReason as bad:
        return text.REASONS[bad.problem], 400
    except BadDeclaration as bad_declaration:
        return circular.DECLARATION[bad_declaration.problem], 400
    except NotAssigned:
        return circular.NOT_ASSIGNED, 400
    except ApprovalPending as pending:
        return circular.approval_pending(pending.approvals), 409
    except OutsideArea:
        return text.OUTSIDE_AREA, 403
    except VoucherRevoked:
        return text.REVOKED, 409
    except VoucherAlreadyUsed:
        return text.ALREADY_USED, 409
    except VoucherDisputed:
        return text.DISPUTED, 409
    return None, 200
