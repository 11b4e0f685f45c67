"""What a published list tells each family by SMS: selected, or not and why, and how to complain.

Short, whole sentences in the family's language (texts.sms.compose sets it); the reference
lets the complaint room find the application when the family calls 1766, and a selected
family's voucher code (grouped like a reference) is what it shows the army.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.household import Ineligible
from core.references import grouped
from core.sayings import ListResult
from scoring.lists import ABOVE_CUTOFF, NEEDS_REVIEW

# Shorter than the form's own explanations: an SMS, not a page.
REASONS: dict[str, LazyString] = {
    Ineligible.PUBLIC_SECTOR_HEAD: _l("the head of household works in the public sector"),
    Ineligible.PENSION_HEAD: _l("the head of household receives a pension"),
    Ineligible.PUBLIC_SECTOR_MEMBER: _l("a member of the household works in the public sector"),
    Ineligible.PENSION_MEMBER: _l("a member of the household receives a pension"),
    Ineligible.PENSION_INCOME: _l("the household lists a pension among its incomes"),
    NEEDS_REVIEW: _l("a member of the household is also on another family's form"),
    ABOVE_CUTOFF: _l("families in greater need in your area took the places available"),
}


def reason_text(reason: str | None) -> str:
    """A list entry's reason in words (the code itself if it is one we do not know)."""
    if reason is None:
        return ""
    return str(REASONS.get(reason, reason))


def result_sms(result: ListResult) -> str:
    """The one SMS a family receives when the list is published."""
    reference = grouped(result.reference)
    if result.selected and result.voucher_code:
        # Two segments in Arabic at most (UCS-2, 134 characters): tests/scoring/test_publication.
        return _(
            "1766: your family (reference %(reference)s) is on the assistance list. "
            "Voucher code: %(code)s. The army will hand the aid over; the head of household "
            "must show an ID.",
            reference=reference,
            code=grouped(result.voucher_code),
        )
    if result.selected:  # no municipality yet, so no voucher: the army cannot hand it over
        return _(
            "1766: your family (reference %(reference)s) is on the assistance list. "
            "The army will hand the aid over; the head of household must show an ID.",
            reference=reference,
        )
    return _(
        "1766: your family (reference %(reference)s) is not on the assistance list: "
        "%(reason)s. To complain, call 1766.",
        reference=reference,
        reason=reason_text(result.reason),
    )
