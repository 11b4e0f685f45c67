"""The voucher page: what a typed code or a scanned token turns out to be, and what to show.

Anyone with the lists permission learns whether a voucher is genuine; only an officer whose
area covers its municipality sees whether it was used and, to compare with the ID card, the
head's name and ID number (each such look is an audit event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, g, render_template, url_for
from flask_babel import get_locale
from flask_babel.speaklater import LazyString

from core import audit
from core.ed25519_keys import fingerprint
from core.references import grouped
from core.roles import Permission, can
from core.scopes import covers
from core.tickets import Ticket
from distribution.handovers import (
    MistypedCode,
    UnknownVoucher,
    Voucher,
    open_dispute,
    voucher_by_code_or_token,
)
from distribution.queries import Beneficiary, Recorded, beneficiary_of, history, locality_name
from distribution.voucher_keys import signing_key
from distribution.vouchers import MAX_TOKEN, Claim, InvalidVoucher
from texts import handovers as text
from web import store
from webforms.handover_team import additions

MAX_TYPED = 4 * MAX_TOKEN  # a token with stray spaces fits; anything longer is refused unread


@dataclass(frozen=True)
class Looked:
    """A looked-up voucher: the voucher and its claim, or the words of what is wrong."""

    voucher: Voucher | None = None
    claim: Claim | None = None
    problem: LazyString | None = None
    unknown: bool = False  # no such voucher (404) rather than a bad one (400)
    covered: bool = False  # the viewer's area covers the voucher's municipality


@dataclass
class Shown:
    """What the page shows of a voucher the viewer's area covers."""

    history: list[Recorded] = field(default_factory=list)
    dispute: Ticket | None = None
    beneficiary: Beneficiary | None = None
    municipality: str = ""


def signing_key_of_app() -> Ed25519PrivateKey:
    """The key this service signs vouchers with (VOUCHER_SIGNING_KEY_FILE, or var/)."""
    return signing_key(current_app.config["INTAKE_SETTINGS"].voucher_signing_key_file)


def look_up(typed: str, public_key: Ed25519PublicKey) -> Looked:
    """The voucher behind what was typed or scanned (a code or a token)."""
    if len(typed) > MAX_TYPED:
        return Looked(problem=text.INVALID["too_long"])
    if not typed.strip():
        return Looked(problem=text.INVALID["empty"])
    try:
        voucher, claim = voucher_by_code_or_token(store.db(), typed, public_key)
    except MistypedCode:
        return Looked(problem=text.INVALID["mistyped"])
    except UnknownVoucher:
        return Looked(problem=text.INVALID["unknown"], unknown=True)
    except InvalidVoucher as invalid:
        return Looked(problem=text.INVALID[invalid.problem])
    return Looked(voucher, claim, covered=covers(g.user, voucher, Permission.VIEW_LISTS))


def voucher_by_code(code: str, public_key: Ed25519PublicKey) -> Looked:
    """A voucher named in a URL: a code and nothing else."""
    if not (len(code) == 10 and code.isascii() and code.isdigit()):
        return Looked(problem=text.INVALID["unknown"], unknown=True)
    return look_up(code, public_key)


def render_voucher(
    looked: Looked | None, error: Any = None, recorded: Any = None
) -> tuple[str, int]:
    """The page, and its status: 404 for no such voucher, 400 for a bad one."""
    shown = _shown(looked.voucher) if looked and looked.voucher and looked.covered else None
    status = 200
    if looked is not None and looked.problem is not None:
        status = 404 if looked.unknown else 400
    page = render_template(
        "handover/verify.html",
        looked=looked,
        shown=shown,
        # Plain text, escaped: a lazy string would pass as markup, and one message shows < >.
        error=str(error) if error else None,
        recorded=recorded,
        can_record=_can_record(looked, shown),
        circular=additions(shown and looked and looked.voucher, shown.history if shown else []),
        grouped=grouped,
        outcomes=text.OUTCOMES,
        outside=text.OUTSIDE_AREA,
        public_key_url=url_for("handover.public_key"),
        revocation_reasons=text.REVOCATION_REASONS,
        fingerprint=fingerprint(signing_key_of_app().public_key()),
    )
    return page, status


def _can_record(looked: Looked | None, shown: Shown | None) -> bool:
    if looked is None or looked.voucher is None or shown is None:
        return False
    if not can(g.user.role, Permission.RECORD_HANDOVERS):
        return False
    voucher = looked.voucher
    return not voucher.is_used and voucher.revoked_at is None and shown.dispute is None


def _shown(voucher: Voucher) -> Shown:
    session = store.db()
    shown = Shown(
        history=history(session, voucher),
        dispute=open_dispute(session, voucher),
        municipality=locality_name(session, voucher.locality_code, str(get_locale()) == "ar"),
    )
    if can(g.user.role, Permission.RECORD_HANDOVERS):
        # The head's name and ID number, to compare with the card: a look on the record.
        audit.record(
            session,
            g.user.username,
            "voucher.viewed",
            "voucher",
            str(voucher.id),
            {"code": voucher.code},
        )
        session.commit()
        shown.beneficiary = beneficiary_of(session, voucher)
    return shown
