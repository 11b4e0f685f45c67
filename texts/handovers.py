"""The words of the distribution pages: why a voucher is refused, what was recorded, what to fix.

Keys are the values `scoring` raises or stores; the pages never show a code without its words.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from distribution.handovers import HandoverOutcome, ReasonProblem
from distribution.revocation_list import RevocationReason
from distribution.vouchers import Problem

# Why a voucher does not verify, in words an officer can act on.
INVALID: dict[str, LazyString] = {
    Problem.MALFORMED: _l(
        "This is not a voucher: the text is incomplete, mistyped or altered. Scan the QR code "
        "again or type the voucher code."
    ),
    Problem.UNKNOWN_VERSION: _l("This voucher format is not one the 1766 service issues."),
    Problem.BAD_SIGNATURE: _l(
        "The signature does not match: this voucher is forged or was altered. Do not hand over "
        "aid on it."
    ),
    "mistyped": _l("The voucher code's last digit does not match: a digit was mistyped."),
    "unknown": _l("No voucher has this code. Check the code on the voucher."),
    "too_long": _l("What was entered is far too long to be a voucher."),
    "empty": _l("Scan the QR code or type the voucher code."),
}

OUTCOMES: dict[str, LazyString] = {
    HandoverOutcome.HANDED_OVER: _l("Handed over"),
    HandoverOutcome.REFUSED: _l("Refused or no ID shown"),
    HandoverOutcome.DISPUTED: _l("Sent to the committee"),
}

RECORDED: dict[str, LazyString] = {
    HandoverOutcome.HANDED_OVER: _l("The handover is recorded. The voucher is now used."),
    HandoverOutcome.REFUSED: _l("The refusal is recorded. The voucher can still be used."),
    HandoverOutcome.DISPUTED: _l(
        "The case is sent to the committee. The voucher cannot be used until the committee decides."
    ),
}

REASONS: dict[str, LazyString] = {
    ReasonProblem.REQUIRED: _l("Write the reason."),
    ReasonProblem.TOO_LONG: _l("The reason is too long: at most 500 characters."),
    ReasonProblem.MARKUP: _l("Write the reason as plain text, without < or >."),
}

CHECKS_MISSING = _l(
    "Aid is handed over only after you have seen the head's ID and obtained the signature. "
    "Tick both boxes, or record a refusal instead."
)
ALREADY_USED = _l("This voucher has already been used. It cannot be used again.")
DISPUTED = _l(
    "The committee has not yet decided on this voucher. Nothing can be recorded meanwhile."
)
REVOKED = _l("This voucher has been revoked. Do not hand over aid on it.")

# Why a voucher was revoked, as the verify page says it.
REVOCATION_REASONS: dict[str, LazyString] = {
    RevocationReason.DISPUTE: _l("The technical committee decided a dispute against it."),
    RevocationReason.CORRECTION_REISSUED: _l(
        "A correction changed the head of household: the family has a new voucher."
    ),
    RevocationReason.CORRECTION_INELIGIBLE: _l(
        "A correction showed that the family is not eligible."
    ),
}
OUTSIDE_AREA = _l("This voucher belongs to a municipality outside your area.")
CHOOSE_OUTCOME = _l("Choose what happened.")
NOT_PUBLISHED = _l(
    "This list is not published yet. Its vouchers can be exported once every family on it has "
    "been told by SMS."
)
