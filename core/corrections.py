"""Corrections of a family's data: logged field by field, decided by the committee.

The circular sends every correction through hotline 1766 and has a committee — never the
person who took the call — make the change. Approval makes a new version of the application
(the old one is kept) and owes a new score; rejection keeps the application as it was. The
citizen can also propose the changes through a one-time correction link; that lands here too.

This module holds the stored request and who reads it; `core.correction_changes` checks the
changes, `core.correction_decisions` logs and decides them, `core.correction_links` takes them
from the citizen's link.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, covers, visible


class CorrectionStatus(StrEnum):
    """The committee's decision."""

    PENDING = "pending"  # awaiting the committee
    APPROVED = "approved"  # applied as a new version of the application
    REJECTED = "rejected"  # refused, with the reason the citizen is sent


class CorrectionSource(StrEnum):
    """Who proposed the changes."""

    AGENT = "agent"  # an agent, during a call
    CITIZEN = "citizen"  # the citizen, through a correction link


class CorrectionRequest(AreaScoped, Base):
    """Changes proposed to one version of an application, and what the committee decided."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    # JSON list of {"field", "old", "new", "reason", "proof"}, in the form's order.
    changes: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def change_list(self) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = json.loads(self.changes)
        return changes


# --- who sees what ------------------------------------------------------------------------

# The room logs, the committee decides, central inspection reads; nobody else.
_READERS = (Permission.HANDLE_COMPLAINTS, Permission.DECIDE_CORRECTIONS, Permission.VIEW_AUDIT)


def _reading_permission(viewer: Viewer) -> Permission | None:
    return next((p for p in _READERS if can(viewer.role, p)), None)


def corrections_visible_to(
    session: Session, viewer: Viewer, *, status: str | None = None, limit: int = 100
) -> list[CorrectionRequest]:
    permission = _reading_permission(viewer)
    if permission is None:
        return []
    stmt = select(CorrectionRequest)
    if status:
        stmt = stmt.where(CorrectionRequest.status == status)
    stmt = stmt.order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc())
    return list(session.scalars(visible(stmt, viewer, CorrectionRequest, permission).limit(limit)))


def correction_for(
    session: Session, viewer: Viewer, correction_id: int
) -> CorrectionRequest | None:
    permission = _reading_permission(viewer)
    correction = session.get(CorrectionRequest, correction_id)
    if correction is None or permission is None or not covers(viewer, correction, permission):
        return None
    return correction


def corrections_of_ticket(session: Session, ticket_id: int) -> list[CorrectionRequest]:
    stmt = (
        select(CorrectionRequest)
        .where(CorrectionRequest.ticket_id == ticket_id)
        .order_by(CorrectionRequest.id)
    )
    return list(session.scalars(stmt))
