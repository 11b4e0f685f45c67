"""The words of what the circular adds to the handover: declarations, assistants, approvals."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from distribution.approvals import REQUIRED_APPROVALS
from distribution.declarations import DeclarationProblem

DECLARATION: dict[str, LazyString] = {
    DeclarationProblem.NOT_SIGNED: _l(
        "A refusal is recorded only once the beneficiary has signed the written declaration. "
        "Tick the box when it is signed."
    ),
    DeclarationProblem.NUMBER_REQUIRED: _l("Write the number printed on the signed declaration."),
    DeclarationProblem.NUMBER_TOO_LONG: _l(
        "The declaration's number is too long: at most 20 characters."
    ),
    DeclarationProblem.NUMBER_FORMAT: _l(
        "Write the declaration's number as printed: letters, digits, - or /."
    ),
}

NOT_ASSIGNED = _l(
    "The person chosen as assisting is not assigned to this list in this municipality."
)
NOT_A_HELPER = _l("Only an active mukhtar or volunteer account of this municipality can assist.")
ASSIGNED = _l("The account is assigned to assist.")
UNASSIGNED = _l("The account no longer assists.")
NOTHING_CHANGED = _l("Nothing changed.")


def approval_pending(approvals: int) -> str:
    """Why the army cannot use the list yet, with where the approvals stand."""
    return str(
        _l(
            "The committee has not approved this list yet (%(approvals)s of %(required)s "
            "approvals). It cannot be exported or distributed until two members have approved it.",
            approvals=approvals,
            required=REQUIRED_APPROVALS,
        )
    )


APPROVED = _l("Your approval is recorded.")
ALREADY_APPROVED = _l(
    "You have already approved this list. The second approval must come from another member "
    "of the committee."
)
NOT_PUBLISHED = _l("A list is approved once it is published.")
