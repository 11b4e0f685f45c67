"""Weekly needs: each municipality's report of what it lacks, and the reminder owed.

Weeks run Monday to Sunday, Beirut time; a week's report is due by its deadline (see
`DEADLINE_*`). A municipality files one report per week (filing again replaces the figures,
on record in the audit trail). After the deadline, the reminder job texts each focal point of
a municipality that has not filed, once per week: the `needs_reminders` row is written in the
same transaction as the SMS it owes, and its uniqueness is what makes "once" hold when the
job runs twice or two copies of it race.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.scopes import AreaScoped


class NeedsReport(AreaScoped, Base):
    """One municipality's needs for one week."""

    __tablename__ = "needs_reports"
    __table_args__ = (UniqueConstraint("locality_code", "week_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, index=True)  # the week's Monday
    food_parcels: Mapped[int] = mapped_column(Integer, default=0)
    hygiene_kits: Mapped[int] = mapped_column(Integer, default=0)
    quarantine_needs: Mapped[str] = mapped_column(Text, default="")
    other_needs: Mapped[str] = mapped_column(Text, default="")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NeedsReminder(Base):
    """The one reminder a focal point was owed for one week (its SMS is in the outbox)."""

    __tablename__ = "needs_reminders"
    __table_args__ = (UniqueConstraint("user_id", "week_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    week_start: Mapped[date] = mapped_column(Date)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
