"""A refusal on paper: the beneficiary's signed written declaration and the paper's number.

The circular asks that a family that does not take the aid (it refuses, or cannot show the
head's ID) sign a written declaration at the distribution point. The officer records the
refusal only once the declaration is signed, with the number printed on the paper, so that
the paper can be found again in the army's files. Both are checked before anything is
written; the refusal and its declaration are one record, audited together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base
from core.digits import to_ascii_digits
from core.users import StaffUser
from distribution.handovers import Handover, Voucher, clean_reason, record_refusal

MAX_PAPER_NUMBER = 20  # characters
# Letters, digits and the separators printed on forms: "A-1234", "2020/0457".
_PAPER_NUMBER = re.compile(r"[A-Za-z0-9]+(?:[-/ ][A-Za-z0-9]+)*")


class Declaration(Base):
    """The written declaration signed for one refusal."""

    __tablename__ = "handover_declarations"

    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"), primary_key=True)
    signed: Mapped[bool] = mapped_column(Boolean)
    paper_number: Mapped[str] = mapped_column(String(MAX_PAPER_NUMBER), index=True)


class DeclarationProblem(StrEnum):
    NOT_SIGNED = "not_signed"  # the box "the declaration is signed" is not ticked
    NUMBER_REQUIRED = "number_required"  # no paper number
    NUMBER_TOO_LONG = "number_too_long"  # longer than MAX_PAPER_NUMBER
    NUMBER_FORMAT = "number_format"  # anything but letters, digits, "-", "/" and spaces


class BadDeclaration(ValueError):
    def __init__(self, problem: DeclarationProblem) -> None:
        super().__init__(f"declaration: {problem}")
        self.problem = problem


@dataclass(frozen=True)
class SignedDeclaration:
    """What the officer states: the declaration is signed, and the paper's number."""

    signed: bool
    paper_number: str


def clean_paper_number(typed: str) -> str:
    """The paper's number as stored: ASCII digits, upper case, single spaces."""
    number = " ".join(to_ascii_digits(typed).split()).upper()
    if not number:
        raise BadDeclaration(DeclarationProblem.NUMBER_REQUIRED)
    if len(number) > MAX_PAPER_NUMBER:
        raise BadDeclaration(DeclarationProblem.NUMBER_TOO_LONG)
    if not _PAPER_NUMBER.fullmatch(number):
        raise BadDeclaration(DeclarationProblem.NUMBER_FORMAT)
    return number


def record_declared_refusal(
    session: Session,
    voucher: Voucher,
    officer: StaffUser,
    reason: str,
    declaration: SignedDeclaration,
) -> Handover:
    """A refusal with its signed declaration; nothing is written unless both are in order."""
    clean_reason(reason)  # the reason's own errors first, as the form lists them
    if not declaration.signed:
        raise BadDeclaration(DeclarationProblem.NOT_SIGNED)
    number = clean_paper_number(declaration.paper_number)
    handover = record_refusal(session, voucher, officer, reason)
    session.add(Declaration(handover_id=handover.id, signed=True, paper_number=number))
    session.flush()
    details: dict[str, audit.Scalar] = {"handover": handover.id, "paper": number}
    audit.record(
        session, officer.username, "handover.declaration", "voucher", str(voucher.id), details
    )
    return handover


def declarations_of(session: Session, handover_ids: list[int]) -> dict[int, str]:
    """The paper number of each of these records that is a declared refusal."""
    stmt = select(Declaration.handover_id, Declaration.paper_number).where(
        Declaration.handover_id.in_(handover_ids)
    )
    return dict(session.execute(stmt).all())
