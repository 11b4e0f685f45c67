"""What the distribution pages read: lists, their municipalities in a viewer's area, the rows of
a municipality's export. Every query is narrowed by the one scoping rule (`core.scopes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from core.applications import Application
from core.geography import Locality
from core.roles import Permission
from core.scopes import Viewer, visible
from core.tickets import Ticket
from core.users import StaffUser
from distribution.handovers import Handover, Voucher
from scoring.lists import BeneficiaryList, ListEntry, Outcome


@dataclass(frozen=True)
class ListSummary:
    """A list and how many of its selected families live in the viewer's area."""

    beneficiary_list: BeneficiaryList
    selected_here: int


@dataclass(frozen=True)
class Municipality:
    """One municipality of a list as the army sees it: families, vouchers issued and used."""

    code: str
    name_ar: str
    name_en: str
    selected: int
    issued: int
    used: int


@dataclass(frozen=True)
class Beneficiary:
    """One line of a municipality's export: who, and the voucher they will show."""

    reference: str
    name: str
    id_number: str
    phone: str
    code: str
    token: str
    address: str = ""  # where the army delivers at home (the form's housing page)
    second_phone: str = ""  # the family's other mobile, if it gave one


def _selected(viewer: Viewer, *columns: Any) -> Select[Any]:
    """Selected families of lists, in the viewer's area (the application carries the area)."""
    stmt = (
        select(*columns)
        .select_from(ListEntry)
        .join(Application, Application.id == ListEntry.application_id)
        .where(ListEntry.outcome == Outcome.SELECTED)
    )
    return visible(stmt, viewer, Application, Permission.VIEW_LISTS)


def lists_of_programme(session: Session, viewer: Viewer, programme_id: int) -> list[ListSummary]:
    """The round's lists, newest first, each with its selected families in the viewer's area."""
    stmt = select(BeneficiaryList).where(BeneficiaryList.programme_id == programme_id)
    lists = list(session.scalars(stmt.order_by(BeneficiaryList.id.desc())))
    counted = _selected(viewer, ListEntry.list_id, func.count(ListEntry.id)).where(
        ListEntry.list_id.in_([item.id for item in lists])
    )
    counts: dict[int, int] = dict(session.execute(counted.group_by(ListEntry.list_id)).all())
    return [ListSummary(item, counts.get(item.id, 0)) for item in lists]


def municipalities(
    session: Session, viewer: Viewer, list_id: int, locality_code: str | None = None
) -> list[Municipality]:
    """The municipalities of the list's selected families in the viewer's area, by name."""
    stmt = (
        _selected(
            viewer,
            Application.locality_code,
            func.count(ListEntry.id),
            func.count(Voucher.id),
            func.count(Voucher.used_at),
        )
        .outerjoin(Voucher, and_(Voucher.entry_id == ListEntry.id, Voucher.revoked_at.is_(None)))
        .where(ListEntry.list_id == list_id, Application.locality_code.is_not(None))
        .group_by(Application.locality_code)
    )
    if locality_code is not None:
        stmt = stmt.where(Application.locality_code == locality_code)
    counts = session.execute(stmt).all()
    names = _names(session, [code for code, *_ in counts])
    rows = []
    for code, selected, issued, used in counts:
        name_ar, name_en = names.get(code, (code, code))
        rows.append(Municipality(code, name_ar, name_en, selected, issued, used))
    return sorted(rows, key=lambda row: (row.name_en, row.code))


def municipality(
    session: Session, viewer: Viewer, list_id: int, locality_code: str
) -> Municipality | None:
    """One municipality of the list, if the viewer's area holds selected families there."""
    found = municipalities(session, viewer, list_id, locality_code)
    return found[0] if found else None


def _names(session: Session, codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    stmt = select(Locality.code, Locality.name_ar, Locality.name_en).where(Locality.code.in_(codes))
    return {code: (ar, en) for code, ar, en in session.execute(stmt)}


def beneficiaries(session: Session, vouchers: Sequence[Voucher]) -> list[Beneficiary]:
    """The export's lines for these vouchers, by the head's family name then first name."""
    ids = [voucher.application_id for voucher in vouchers]
    applications = {
        application.id: application
        for application in session.scalars(select(Application).where(Application.id.in_(ids)))
    }
    ordered = sorted(vouchers, key=lambda voucher: _by_name(applications[voucher.application_id]))
    return [_line(applications[voucher.application_id], voucher) for voucher in ordered]


def _by_name(application: Application) -> tuple[str, str, str]:
    personal = application.pages().get("personal", {})
    family, first = personal.get("head_family_name"), personal.get("head_first_name")
    return str(family or ""), str(first or ""), application.reference


def _line(application: Application, voucher: Voucher) -> Beneficiary:
    pages = application.pages()
    personal = pages.get("personal", {})
    return Beneficiary(
        reference=application.reference,
        name=head_name(personal),
        id_number=str(personal.get("head_id_number") or ""),
        phone=application.phone,
        code=voucher.code,
        token=voucher.token,
        address=str(pages.get("housing", {}).get("address") or ""),
        second_phone=str(personal.get("second_phone") or ""),
    )


def head_name(personal: dict[str, object]) -> str:
    """The head's full name as an ID card shows it: first, father's, family name."""
    parts = (
        personal.get(key) for key in ("head_first_name", "head_father_name", "head_family_name")
    )
    return " ".join(str(part).strip() for part in parts if part)


@dataclass(frozen=True)
class Recorded:
    """One line of a voucher's history, as the officer's page lists it."""

    outcome: str
    recorded_at: datetime
    reason: str | None
    officer: str
    ticket_number: str | None
    handover_id: int = 0  # for what the circular adds to a record (declaration, assistant)


def history(session: Session, voucher: Voucher) -> list[Recorded]:
    """What officers recorded on the voucher, oldest first, with their usernames and tickets."""
    stmt = (
        select(Handover, StaffUser.username, Ticket.number)
        .join(StaffUser, StaffUser.id == Handover.officer_id)
        .outerjoin(Ticket, Ticket.id == Handover.ticket_id)
        .where(Handover.voucher_id == voucher.id)
        .order_by(Handover.id)
    )
    return [
        Recorded(h.outcome, h.recorded_at, h.reason, username, number, h.id)
        for h, username, number in session.execute(stmt)
    ]


def beneficiary_of(session: Session, voucher: Voucher) -> Beneficiary:
    """The family behind one voucher (the officer compares it with the ID card)."""
    return _line(session.get_one(Application, voucher.application_id), voucher)


def locality_name(session: Session, code: str | None, arabic: bool) -> str:
    locality = session.get(Locality, code) if code else None
    if locality is None:
        return code or ""
    return locality.name_ar if arabic else locality.name_en
