"""COVID-19 case reports: the circular's health module, as counts a ministry can follow.

A municipality's focal point reports each new confirmed or suspected case among its
residents (Lebanese or displaced) by age band, sex and where the person is isolated, then
records what follows (tested, a result, transferred, isolation ended, recovered, died). No
name is asked: the counts need none. The two personal fields a municipality may keep to
follow a case up (a contact number, a note) are read only within the municipality and by the
health ministry (`Permission.VIEW_CASE_DETAILS`); every other reader sees the counts.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.fields import Context, FormRefused
from core.scopes import AreaScoped


class Classification(StrEnum):
    CONFIRMED = "confirmed"  # a positive test
    SUSPECTED = "suspected"  # symptoms or contact, not yet confirmed


class ResidentGroup(StrEnum):
    LEBANESE = "lebanese"
    DISPLACED_SYRIAN = "displaced_syrian"
    PALESTINE_REFUGEE = "palestine_refugee"
    OTHER = "other"


class AgeBand(StrEnum):
    UNDER_10 = "0-9"
    FROM_10 = "10-19"
    FROM_20 = "20-39"
    FROM_40 = "40-59"
    FROM_60 = "60-69"
    FROM_70 = "70+"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class IsolationPlace(StrEnum):
    HOME = "home"
    QUARANTINE_CENTRE = "quarantine_centre"
    HOSPITAL = "hospital"


class CaseStatus(StrEnum):
    ACTIVE = "active"  # isolated, followed by the municipality
    CLOSED = "closed"  # see `outcome`


class CaseOutcome(StrEnum):
    RECOVERED = "recovered"
    DIED = "died"
    ISOLATION_ENDED = "isolation_ended"
    RULED_OUT = "ruled_out"  # a suspected case whose test came back negative


class EventKind(StrEnum):
    TESTED = "tested"  # a sample was taken
    RESULT = "result"  # a test's result: positive or negative
    TRANSFERRED = "transferred"  # moved to another place of isolation
    ISOLATION_ENDED = "isolation_ended"
    RECOVERED = "recovered"
    DIED = "died"


class TestResult(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class Readiness(StrEnum):
    READY = "ready"
    PREPARING = "preparing"
    NOT_READY = "not_ready"


class QuarantineCentre(AreaScoped, Base):
    """A municipality's quarantine centre: its beds and whether it can take people now."""

    __tablename__ = "quarantine_centres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    capacity: Mapped[int] = mapped_column(Integer)
    occupancy: Mapped[int] = mapped_column(Integer, default=0)
    readiness: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class CaseReport(AreaScoped, Base):
    """One case among a municipality's residents; its area is the reporting municipality."""

    __tablename__ = "case_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)  # what staff quote
    classification: Mapped[str] = mapped_column(String(12))
    resident_group: Mapped[str] = mapped_column(String(20))
    age_band: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str] = mapped_column(String(8))
    isolation_place: Mapped[str] = mapped_column(String(20))
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_centres.id"))
    status: Mapped[str] = mapped_column(String(12), default=CaseStatus.ACTIVE, index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reported_on: Mapped[date] = mapped_column(Date)  # the day the municipality learnt of it
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Personal: read only with VIEW_CASE_DETAILS (the municipality, the health ministry).
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)


class CaseEvent(Base):
    """One follow-up of a case, in the order it was recorded."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str | None] = mapped_column(String(10))  # for a RESULT
    isolation_place: Mapped[str | None] = mapped_column(String(20))  # for a TRANSFERRED
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_centres.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


# --- what can go wrong (adapters turn each code into words) ---------------------------------


class HealthProblem(StrEnum):
    """Why a field of a case, a follow-up or a centre was refused (besides `core.fields`')."""

    DAY_IN_FUTURE = "day_in_future"  # a report or a follow-up dated after today (Beirut)
    DAY_TOO_EARLY = "day_too_early"  # params: earliest (before Lebanon's first case)
    BEFORE_REPORTED = "before_reported"  # params: reported (a follow-up before its case)
    CENTRE_REQUIRED = "centre_required"  # isolated in a centre, but which one?
    NOT_OWN_CENTRE = "not_own_centre"  # not a centre of the case's municipality
    SAME_PLACE = "same_place"  # a transfer to where the person already is
    PHONE_INVALID = "phone_invalid"  # not a phone number
    PHONE_FOREIGN = "phone_foreign"  # a valid number, not Lebanese
    OVER_CAPACITY = "over_capacity"  # params: capacity (occupancy above the beds)
    DUPLICATE_NAME = "duplicate_name"  # the municipality has a centre of this name already


# What `core.fields`' cleaners are given here: none of these forms asks for a locality or an age.
NO_CONTEXT = Context(today=date.min, locality_exists=lambda code: False)


class HealthInvalid(FormRefused):
    """A case, follow-up or centre refused; `errors` has one entry per refused field."""


class CaseClosed(Exception):
    """A closed case takes no further follow-up: its outcome is final."""
