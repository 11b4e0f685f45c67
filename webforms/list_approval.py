"""The committee's approval of a published list, and what the army's pages make of it.

`POST /console/lists/<id>/approval`: a committee member approves the list (thin view over
`distribution.approvals`). The list's page shows the approvals and, until there are two,
says that the army's exports wait for them; an export asked for meanwhile is refused with the
same words (409), and nothing is issued or audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, g, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from core.roles import Permission, can
from distribution.approvals import (
    REQUIRED_APPROVALS,
    AlreadyApproved,
    Approval,
    ApprovalPending,
    NotAllowedToApprove,
    NotPublishedYet,
    approval_count,
    approvals_of,
    approve_list,
    require_approval,
)
from scoring.lists import BeneficiaryList
from texts import handover_circular as text
from web import store
from web.auth import staff_required

bp = Blueprint("list_approval", __name__, template_folder="templates")


@dataclass
class ApprovalState:
    """Where a list's approval stands, for its page."""

    approvals: list[Approval] = field(default_factory=list)
    approved: bool = False
    pending: str = ""  # the words of what is missing, while it is
    can_approve: bool = False  # the viewer is a member who has not approved it yet


def approval_state(beneficiary_list: BeneficiaryList) -> ApprovalState:
    approvals = approvals_of(store.db(), beneficiary_list.id)
    approved = len(approvals) >= REQUIRED_APPROVALS
    mine = any(approval.member == g.user.username for approval in approvals)
    return ApprovalState(
        approvals=approvals,
        approved=approved,
        pending="" if approved else text.approval_pending(len(approvals)),
        can_approve=(
            can(g.user.role, Permission.APPROVE_LISTS)
            and beneficiary_list.published_at is not None
            and not mine
        ),
    )


def refuse_unapproved(list_id: int) -> None:
    """Stop an export of a list the committee has not approved: 409 with the words why."""
    try:
        require_approval(store.db(), list_id)
    except ApprovalPending as pending:
        page = render_template(
            "handover/approval_pending.html",
            list_id=list_id,
            message=text.approval_pending(pending.approvals),
        )
        abort(make_response(page, 409))


@bp.post("/console/lists/<int(max=2147483647):list_id>/approval")
@staff_required(Permission.APPROVE_LISTS)
def approve(list_id: int) -> ResponseReturnValue:
    session = store.db()
    beneficiary_list = session.get(BeneficiaryList, list_id)
    if beneficiary_list is None:
        abort(404)
    try:
        approve_list(session, beneficiary_list, g.user)
    except (AlreadyApproved, NotPublishedYet) as refused:
        session.rollback()
        words = (
            text.ALREADY_APPROVED if isinstance(refused, AlreadyApproved) else text.NOT_PUBLISHED
        )
        page = render_template("handover/approval_pending.html", list_id=list_id, message=words)
        return page, 409
    except NotAllowedToApprove:  # the decorator let no one else in; kept for the rule's sake
        abort(403)
    store.commit()
    url = url_for("handover.list_page", list_id=list_id, approved=approval_count(session, list_id))
    return redirect(url + "#approvals", 303)
