"""Weekly needs: each municipality's report of what it lacks, and the reminder owed.

Weeks run Monday to Sunday, Beirut time; a week's report is due by its deadline
(`DEADLINE_AFTER_MONDAY`: Wednesday 12:00). A municipality files one report per week (filing
again replaces the figures, on record in the audit trail). After the deadline, the reminder
job texts each focal point of a municipality that has not filed, once per week: the
`needs_reminders` row is written in the same transaction as the SMS it owes, and its
uniqueness is what makes "once" hold when the job runs twice or two copies of it race.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    Select,
    Text,
    UniqueConstraint,
    exists,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, fields
from core.clock import BEIRUT, beirut_day
from core.db import Base, UTCDateTime, table, utcnow
from core.fields import FormInput
from core.geography import Locality
from core.notifications import Sms, may_text, owe_text
from core.opt_outs import SmsOptOut
from core.roles import Permission, Role, can
from core.sayings import Compose, NeedsOverdue
from core.scopes import AreaScoped, Viewer, visible
from core.sms_policy import Occasion
from core.users import StaffUser


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


# --- the week and its deadline ----------------------------------------------------------------

DEADLINE_AFTER_MONDAY = timedelta(days=2, hours=12)
"""A week's report is due by Wednesday 12:00, Beirut time, of that week.

Half the week is left to act on the figures (the ministry's orders, the army's loading), and
two and a half days are enough for a municipality to count what it lacks. Counted on Beirut's
wall clock from the Monday's midnight, so summer time does not move it. One constant: the
console's "late" and the reminder job both read it."""

MAX_COUNT = 100_000  # parcels or kits a week: more than the largest municipality's households
MAX_NEEDS_TEXT = 2000  # a few paragraphs on the quarantine centre, or on anything else
REMINDER_PURPOSE = "needs_reminder"
_FILING_ROLES = [role.value for role in Role if can(role, Permission.FILE_NEEDS)]


def week_of(moment: datetime) -> date:
    """The Monday (Beirut's calendar) of the week `moment` falls in."""
    day = beirut_day(moment)
    return day - timedelta(days=day.weekday())


def deadline(week_start: date) -> datetime:
    """When the week's report is due, as an aware UTC time."""
    monday = datetime.combine(week_start, time(0), tzinfo=BEIRUT)
    return (monday + DEADLINE_AFTER_MONDAY).astimezone(UTC)


def filed_late(report: NeedsReport) -> bool:
    """First filed after the deadline; figures corrected later do not make a report late."""
    return report.filed_at > deadline(report.week_start)


def _context() -> fields.Context:
    """What the cleaners may ask: no field of this form is a date of birth or a locality."""
    return fields.Context(utcnow().date(), locality_exists=lambda _code: False)


FIRST_WEEK = date(2019, 12, 30)  # the week of 1 January 2020: the programme's circular is of 2020


class BadWeek(ValueError):
    """A week asked for that is not a date (`invalid`), has not begun (`future`) or is before
    the programme's first (`early`: a week near year 1 would also overflow the calendar)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def chosen_week(typed: str, now: datetime) -> date:
    """The Monday of the week a reader asked for by any of its days (YYYY-MM-DD)."""
    data, errors = fields.clean_fields({"week": fields.day}, {"week": [typed]}, _context())
    if errors:
        raise BadWeek("invalid")
    day = date.fromisoformat(data["week"])
    week = day - timedelta(days=day.weekday())
    if week > week_of(now):
        raise BadWeek("future")
    if week < FIRST_WEEK:
        raise BadWeek("early")
    return week


# --- filing -------------------------------------------------------------------------------------

_FIELDS: dict[str, fields.Cleaner] = {
    # Left empty, a count is zero: a municipality that needs no kits writes nothing there.
    "food_parcels": fields.optional(fields.number(0, MAX_COUNT)),
    "hygiene_kits": fields.optional(fields.number(0, MAX_COUNT)),
    "quarantine_needs": fields.optional(fields.paragraphs(MAX_NEEDS_TEXT)),
    "other_needs": fields.optional(fields.paragraphs(MAX_NEEDS_TEXT)),
}


class NeedsInvalid(fields.FormRefused):
    """The report cannot be filed as typed."""


class NotAFiler(PermissionError):
    """Only a municipality's focal point files its needs."""


@dataclass(frozen=True)
class NeedsFigures:
    """What a municipality lacks this week, as typed and cleaned."""

    food_parcels: int
    hygiene_kits: int
    quarantine_needs: str
    other_needs: str


def clean_needs(form: FormInput) -> NeedsFigures:
    """The posted form as figures, or `NeedsInvalid` listing every refused field."""
    data, errors = fields.clean_fields(_FIELDS, form, _context())
    if errors:
        raise NeedsInvalid(errors)
    return NeedsFigures(
        food_parcels=data["food_parcels"] or 0,
        hygiene_kits=data["hygiene_kits"] or 0,
        quarantine_needs=data["quarantine_needs"] or "",
        other_needs=data["other_needs"] or "",
    )


def file_needs(
    session: Session, user: StaffUser, figures: NeedsFigures, now: datetime
) -> NeedsReport:
    """This week's report of the user's municipality; filing again replaces the figures.

    One statement inserts or updates (the unique municipality and week), so two focal points
    filing at once leave one report, the later figures. `filed_at` stays the first filing's
    (lateness is judged on it); `updated_at` and `filed_by_id` follow the latest.
    """
    if not can(user.role, Permission.FILE_NEEDS) or user.locality_code is None:
        raise NotAFiler()
    week = week_of(now)
    figures_now = {**asdict(figures), "filed_by_id": user.id, "updated_at": now}
    stmt = (
        _insert(session, NeedsReport)
        .values(
            **figures_now,
            week_start=week,
            filed_at=now,
            governorate_code=user.governorate_code,
            district_code=user.district_code,
            locality_code=user.locality_code,
        )
        .on_conflict_do_update(index_elements=["locality_code", "week_start"], set_=figures_now)
        .returning(table(NeedsReport).c.id, table(NeedsReport).c.filed_at)
    )
    report_id, filed_at = session.execute(stmt).one()
    action = "needs.filed" if filed_at == now else "needs.refiled"
    details: dict[str, audit.Scalar] = {  # the counts; the free text stays in the report
        "week": week.isoformat(),
        "food_parcels": figures.food_parcels,
        "hygiene_kits": figures.hygiene_kits,
    }
    audit.record(session, user.username, action, "needs_report", str(report_id), details)
    return session.get_one(NeedsReport, report_id, populate_existing=True)


def _insert(session: Session, model: type[Base]) -> Any:
    """An INSERT that takes `ON CONFLICT`, for this session's database (both speak it)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(table(model))


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """The week's figures added up over the reports in the viewer's area."""

    reports: int
    late: int
    food_parcels: int
    hygiene_kits: int


def week_reports(
    session: Session, viewer: Viewer, week_start: date
) -> list[tuple[NeedsReport, Locality]]:
    """The week's reports in the viewer's area, each with its municipality."""
    stmt = (
        select(NeedsReport, Locality)
        .join(Locality, Locality.code == NeedsReport.locality_code)
        .where(NeedsReport.week_start == week_start)
        .order_by(NeedsReport.locality_code)
    )
    stmt = visible(stmt, viewer, NeedsReport, Permission.VIEW_REPORTS)
    return [(report, place) for report, place in session.execute(stmt)]


def totals(reports: list[NeedsReport]) -> Totals:
    return Totals(
        reports=len(reports),
        late=sum(filed_late(r) for r in reports),
        food_parcels=sum(r.food_parcels for r in reports),
        hygiene_kits=sum(r.hygiene_kits for r in reports),
    )


def own_report(session: Session, user: StaffUser, week_start: date) -> NeedsReport | None:
    """The user's municipality's report for a week, if filed (the filing form starts from it)."""
    if user.locality_code is None:
        return None
    stmt = select(NeedsReport).where(
        NeedsReport.locality_code == user.locality_code, NeedsReport.week_start == week_start
    )
    return session.scalar(stmt)


def not_filed(session: Session, viewer: Viewer, week_start: date) -> list[Locality]:
    """Municipalities of the viewer's area that owe the week's report and have not filed it.

    A municipality owes reports once it has an active focal-point account: the others are not
    on the platform yet, and listing every cadastral locality would bury the ones that matter.
    """
    filers = visible(
        select(StaffUser.locality_code).where(
            StaffUser.role_value.in_(_FILING_ROLES), StaffUser.is_active.is_(True)
        ),
        viewer,
        StaffUser,
        Permission.VIEW_REPORTS,
    )
    filed = exists().where(
        NeedsReport.locality_code == Locality.code, NeedsReport.week_start == week_start
    )
    stmt = select(Locality).where(Locality.code.in_(filers), ~filed).order_by(Locality.code)
    return list(session.scalars(stmt))


# --- the reminder job ---------------------------------------------------------------------------


def remind(session: Session, now: datetime, compose: Compose) -> list[int]:
    """Owe one SMS to each focal point whose municipality missed this week's deadline.

    Nothing until the deadline has passed. Then each active account with a phone, whose
    number may be sent a notice (core/sms_policy.py: no STOP, the daily cap not reached; else
    a later run tries again) and who has no reminder for the week yet, gets its
    `needs_reminders` row and its SMS in the caller's transaction; a second copy of the job
    racing this one finds the row taken (ON CONFLICT DO NOTHING) and owes nothing. The caller
    commits, then dispatches; `compose` writes the SMS in the focal point's language.
    """
    week = week_of(now)
    if now <= deadline(week):
        return []
    owed = []
    for user in list(session.scalars(_unreminded(week))):
        if user.phone is None:  # never: the query asks for a phone (this tells the type checker)
            continue
        if may_text(session, user.phone, Occasion.NOTICE) is not None:
            continue  # STOP, or its day's share of notices: a later run tries again
        reminder_id = _claim_reminder(session, user.id, week, now)
        if reminder_id is None:
            continue  # another run reminded this focal point a moment ago
        body = compose(NeedsOverdue(week), user.language)
        sms = Sms(user.phone, body, user.language, REMINDER_PURPOSE, user.area)
        message_id = owe_text(session, sms, Occasion.NOTICE).message_id
        session.execute(
            update(NeedsReminder)
            .where(NeedsReminder.id == reminder_id)
            .values(message_id=message_id)
        )
        details: dict[str, audit.Scalar] = {"week": week.isoformat(), "message": message_id}
        audit.record(
            session, audit.SYSTEM, "needs.reminder_owed", "staff_user", str(user.id), details
        )
        owed.append(message_id)
    return owed


def _unreminded(week: date) -> Select[StaffUser]:
    """Focal points to remind: active, with a phone not stopped, their municipality silent."""
    return (
        select(StaffUser)
        .where(
            StaffUser.role_value.in_(_FILING_ROLES),
            StaffUser.is_active.is_(True),
            StaffUser.phone.is_not(None),
            StaffUser.locality_code.is_not(None),
            ~exists().where(
                NeedsReport.locality_code == StaffUser.locality_code,
                NeedsReport.week_start == week,
            ),
            ~exists().where(
                NeedsReminder.user_id == StaffUser.id, NeedsReminder.week_start == week
            ),
            ~exists().where(SmsOptOut.phone == StaffUser.phone),
        )
        .order_by(StaffUser.id)
    )


def _claim_reminder(session: Session, user_id: int, week: date, now: datetime) -> int | None:
    """The new reminder's id, or None when (user, week) has one (another run's, committed)."""
    stmt = (
        _insert(session, NeedsReminder)
        .values(user_id=user_id, week_start=week, created_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "week_start"])
        .returning(table(NeedsReminder).c.id)
    )
    found = session.execute(stmt).scalar()
    return None if found is None else int(found)
