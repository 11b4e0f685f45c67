"""Decisions: every measure a municipality takes, and the ministries' circulars.

A municipality's decision is read within its area's chain (the municipality, its qaimaqam,
its governor, the national level). A ministry's circular carries no area: it is published to
everyone, staff and public alike.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.scopes import AreaScoped


class DecisionKind(StrEnum):
    MUNICIPAL = "municipal"  # a municipality's decision, scoped to its area
    CIRCULAR = "circular"  # a ministry's circular, published to everyone


class DecisionCategory(StrEnum):
    CURFEW = "curfew"
    CLOSURE = "closure"
    AID = "aid"
    QUARANTINE = "quarantine"
    OTHER = "other"


class Decision(AreaScoped, Base):
    """One decision or circular, as issued; corrections are new records, never edits."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)  # None: until revoked
    issuer: Mapped[str] = mapped_column(String(120))  # the municipality or ministry, as named
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
