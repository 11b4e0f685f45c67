"""Vouchers and handovers: each selected family's signed voucher, used once, every step on record.

A published list's selected families get a voucher when the list is published (its code is in
their SMS, distribution/publication.py), or, for a list published before that, when the army
exports their municipality; either way one voucher per list entry, the same every time. At
the distribution point the officer checks the voucher, sees the head's ID and obtains a
signature, then records the handover: one conditional UPDATE marks the voucher used, so two
officers at once cannot both hand aid over on it. A family that refuses, or cannot show ID,
is recorded with the reason and keeps its voucher; a disputed case goes to the committee as a
distribution ticket and the voucher waits for its decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Boolean, CursorResult, ForeignKey, Integer, Select, String, select, update
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.sql import and_, exists, or_

from core import audit
from core.applications import Application
from core.clock import beirut_day
from core.db import Base, UTCDateTime, utcnow
from core.references import new_reference, parse_reference
from core.roles import Permission
from core.scopes import AreaScoped, OutsideArea, covers
from core.tickets import (
    ACTIVE,
    DEFAULT_DEADLINES,
    Deadline,
    Ticket,
    TicketCategory,
    TicketChannel,
    open_ticket,
)
from core.users import StaffUser
from distribution.approvals import require_approval
from distribution.revocation_list import VoucherRevoked
from distribution.vouchers import Claim, sign, verify
from scoring.lists import BeneficiaryList, ListEntry, Outcome

MAX_REASON = 500  # characters: a sentence or two, read by the committee
_MARKUP = re.compile(r"[<>]")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # a line break may stay


class HandoverOutcome(StrEnum):
    """What the officer recorded at the distribution point."""

    HANDED_OVER = "handed_over"  # aid given, ID seen, signature obtained: the voucher is used
    REFUSED = "refused"  # refused, or no ID shown: recorded with the reason; the voucher stays
    DISPUTED = "disputed"  # sent to the committee (a ticket); the voucher waits for its decision


class Voucher(AreaScoped, Base):
    """One selected family's voucher on one list; its token is what the QR code holds."""

    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("beneficiary_lists.id"), index=True)
    # One live voucher per entry (a partial unique index, distribution/revocations.py).
    entry_id: Mapped[int] = mapped_column(ForeignKey("list_entries.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    token: Mapped[str] = mapped_column(String(256))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # revocations.py
    revoked_reason: Mapped[str | None] = mapped_column(String(24))  # RevocationReason's code

    @property
    def is_used(self) -> bool:
        return self.used_at is not None


_LIVE = Voucher.revoked_at.is_(None)


class Handover(Base):
    """One thing an officer recorded about a voucher: a handover, a refusal or a dispute."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    id_seen: Mapped[bool] = mapped_column(Boolean, default=False)
    signature_obtained: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    officer_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))


# --- what can go wrong (adapters turn each into words) -------------------------------------


class ListNotPublished(Exception):
    """Vouchers exist only for a published list: the families have been told."""


class UnknownVoucher(LookupError):
    """No voucher of this store has this code (or this token)."""


class MistypedCode(ValueError):
    """Ten digits whose check digit is wrong: a digit was mistyped."""


class VoucherAlreadyUsed(Exception):
    """The voucher was used for a handover already; it is used once."""


class VoucherDisputed(Exception):
    """The committee has not decided the dispute on this voucher yet."""


class ChecksMissing(ValueError):
    """Aid is handed over only once the ID was seen and the signature obtained."""


class ReasonProblem(StrEnum):
    REQUIRED = "required"  # a refusal or a dispute says why
    TOO_LONG = "too_long"  # longer than MAX_REASON
    MARKUP = "markup"  # angle brackets: the reason is plain text


class BadReason(ValueError):
    def __init__(self, problem: ReasonProblem) -> None:
        super().__init__(f"reason: {problem}")
        self.problem = problem


def clean_reason(text: str) -> str:
    """The reason as stored: plain text, trimmed, at most MAX_REASON characters."""
    reason = _CONTROL.sub("", text).strip()
    if not reason:
        raise BadReason(ReasonProblem.REQUIRED)
    if len(reason) > MAX_REASON:
        raise BadReason(ReasonProblem.TOO_LONG)
    if _MARKUP.search(reason):
        raise BadReason(ReasonProblem.MARKUP)
    return reason


# --- issuing ----------------------------------------------------------------------------------


def issue_vouchers(
    session: Session,
    beneficiary_list: BeneficiaryList,
    locality_code: str,
    key: Ed25519PrivateKey,
    actor: str = audit.SYSTEM,
) -> list[Voucher]:
    """The vouchers of the list's selected families in one municipality, issuing missing ones.

    Idempotent: a family's voucher is made once and returned as it was every time after. The
    list's row is locked meanwhile, so two exports at once issue one voucher per family.
    """
    if beneficiary_list.published_at is None:
        raise ListNotPublished()
    session.scalars(
        select(BeneficiaryList.id)
        .where(BeneficiaryList.id == beneficiary_list.id)
        .with_for_update()
    ).one()
    vouchers, new = [], 0
    for entry, application, voucher in session.execute(_families(beneficiary_list, locality_code)):
        if voucher is None:
            voucher, new = issue_voucher(session, entry, application, key), new + 1
        vouchers.append(voucher)
    session.flush()
    if new:
        details: dict[str, audit.Scalar] = {"locality": locality_code, "issued": new}
        audit.record(session, actor, "vouchers.issued", "list", str(beneficiary_list.id), details)
    return vouchers


def _families(
    beneficiary_list: BeneficiaryList, locality_code: str
) -> Select[ListEntry, Application, Voucher]:
    """The selected families in the municipality, each with its live voucher if issued.

    A family whose voucher was revoked and not replaced is left out: it gets no new one."""
    revoked = aliased(Voucher)
    return (
        select(ListEntry, Application, Voucher)
        .join(Application, Application.id == ListEntry.application_id)
        .outerjoin(Voucher, and_(Voucher.entry_id == ListEntry.id, _LIVE))
        .where(
            ListEntry.list_id == beneficiary_list.id,
            ListEntry.outcome == Outcome.SELECTED,
            Application.locality_code == locality_code,
            or_(Voucher.id.is_not(None), ~exists().where(revoked.entry_id == ListEntry.id)),
        )
        .order_by(Application.reference)
    )


def issue_voucher(
    session: Session, entry: ListEntry, application: Application, key: Ed25519PrivateKey
) -> Voucher:
    """A new voucher for a selected entry; the caller has checked it has none (one per entry)."""
    now = utcnow()
    code = _free_code(session)
    claim = Claim(
        code, entry.list_id, application.reference, application.locality_code or "", beirut_day(now)
    )
    voucher = Voucher(
        list_id=entry.list_id,
        entry_id=entry.id,
        application_id=application.id,
        code=code,
        token=sign(claim, key),
        issued_at=now,
        governorate_code=application.governorate_code,
        district_code=application.district_code,
        locality_code=application.locality_code,
    )
    session.add(voucher)
    session.flush()  # the next code drawn sees this one
    return voucher


def voucher_of_entry(session: Session, entry_id: int) -> Voucher | None:
    """The live voucher issued for this list entry, if any."""
    return session.scalar(select(Voucher).where(Voucher.entry_id == entry_id, _LIVE))


def _free_code(session: Session) -> str:
    """Ten digits with a check digit, like a reference; drawn again if already taken."""
    code = new_reference()
    while session.scalar(select(Voucher.id).where(Voucher.code == code)) is not None:
        code = new_reference()
    return code


# --- finding a voucher ------------------------------------------------------------------------


def voucher_by_code_or_token(
    session: Session, typed: str, public_key: Ed25519PublicKey
) -> tuple[Voucher, Claim]:
    """The voucher an officer typed (its code) or scanned (its token), with its checked claim.

    Raises `MistypedCode`, `UnknownVoucher`, or `distribution.vouchers.InvalidVoucher` (forged,
    altered or garbled: the stored token of a typed code is checked just the same).
    """
    text = typed.strip()
    code = parse_reference(text)
    if code is None and _looks_like_a_code(text):
        raise MistypedCode()
    if code is not None:
        voucher = session.scalar(select(Voucher).where(Voucher.code == code))
        if voucher is None:
            raise UnknownVoucher()
        return voucher, verify(voucher.token, public_key)
    claim = verify(text, public_key)
    voucher = session.scalar(select(Voucher).where(Voucher.code == claim.code))
    if voucher is None or voucher.token != text:
        raise UnknownVoucher()
    return voucher, claim


def _looks_like_a_code(text: str) -> bool:
    plain = re.sub(r"[\s-]", "", text)
    return 0 < len(plain) <= 12 and all(ch.isdigit() for ch in plain)


def open_dispute(session: Session, voucher: Voucher) -> Ticket | None:
    """The committee's ticket on this voucher still undecided, if any."""
    stmt = (
        select(Ticket)
        .join(Handover, Handover.ticket_id == Ticket.id)
        .where(Handover.voucher_id == voucher.id, Ticket.status.in_(ACTIVE))
        .limit(1)
    )
    return session.scalar(stmt)


# --- recording at the distribution point -----------------------------------------------------


def record_handover(
    session: Session,
    voucher: Voucher,
    officer: StaffUser,
    id_seen: bool,
    signature_obtained: bool,
) -> Handover:
    """Aid handed over: only with the ID seen and the signature obtained, and only once."""
    _ready(session, voucher, officer)
    if not (id_seen and signature_obtained):
        raise ChecksMissing()
    now = utcnow()
    used = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.used_at.is_(None))
        .values(used_at=now, used_by_id=officer.id)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], used).rowcount != 1:  # an UPDATE's result has a rowcount
        raise VoucherAlreadyUsed()
    voucher.used_at, voucher.used_by_id = now, officer.id
    return _record(session, voucher, officer, HandoverOutcome.HANDED_OVER, now=now)


def record_refusal(session: Session, voucher: Voucher, officer: StaffUser, reason: str) -> Handover:
    """The family refused or could not show ID: on record with the reason; the voucher stays."""
    text = clean_reason(reason)
    _ready(session, voucher, officer)
    return _record(session, voucher, officer, HandoverOutcome.REFUSED, reason=text)


def record_dispute(
    session: Session,
    voucher: Voucher,
    officer: StaffUser,
    reason: str,
    deadlines: Mapping[TicketCategory, Deadline] = DEFAULT_DEADLINES,
) -> Handover:
    """A case the officer cannot settle: a distribution ticket for the committee."""
    text = clean_reason(reason)
    _ready(session, voucher, officer)
    application = session.get_one(Application, voucher.application_id)
    ticket = open_ticket(
        session,
        phone=application.phone,
        channel=TicketChannel.AGENT,  # logged by staff; `logged_by_id` names the officer
        language=application.language,
        category=TicketCategory.DISTRIBUTION,
        text=f"[{voucher.code}] {text}",
        application=application,
        logged_by_id=officer.id,
        deadlines=deadlines,
    )
    return _record(session, voucher, officer, HandoverOutcome.DISPUTED, reason=text, ticket=ticket)


def _ready(session: Session, voucher: Voucher, officer: StaffUser) -> None:
    """Lock the voucher's row and check it can take a record from this officer."""
    if not covers(officer, voucher, Permission.RECORD_HANDOVERS):
        raise OutsideArea()
    require_approval(session, voucher.list_id)  # the committee's two approvals (§6)
    stmt = (
        select(Voucher)
        .where(Voucher.id == voucher.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session.scalars(stmt).one()  # re-read under the lock: another officer may have used it
    if voucher.revoked_at is not None:
        raise VoucherRevoked()
    if voucher.is_used:
        raise VoucherAlreadyUsed()
    if open_dispute(session, voucher) is not None:
        raise VoucherDisputed()


def _record(
    session: Session,
    voucher: Voucher,
    officer: StaffUser,
    outcome: HandoverOutcome,
    *,
    reason: str | None = None,
    ticket: Ticket | None = None,
    now: datetime | None = None,
) -> Handover:
    handed_over = outcome is HandoverOutcome.HANDED_OVER
    handover = Handover(
        voucher_id=voucher.id,
        outcome=outcome,
        id_seen=handed_over,
        signature_obtained=handed_over,
        reason=reason,
        officer_id=officer.id,
        recorded_at=now or utcnow(),
        ticket_id=ticket.id if ticket else None,
    )
    session.add(handover)
    session.flush()
    details: dict[str, audit.Scalar] = {"code": voucher.code, "handover": handover.id}
    if ticket is not None:
        details["ticket"] = ticket.number
    audit.record(
        session, officer.username, f"voucher.{outcome}", "voucher", str(voucher.id), details
    )
    return handover
