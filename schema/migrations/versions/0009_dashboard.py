"""The dashboard: when a form was started (`links.started_at`), the Beirut day each link was
created and each application submitted (`links.created_on`, `applications.submitted_on`),
and the indexes that let each of its national counts read one small index at a million
applications (see core/dashboard.py): led by the area's codes, partial where a figure counts
only some rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 18:00:00
"""

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

AREA = ["governorate_code", "district_code", "locality_code"]
TEXTED = "channel IN ('sms_link', 'hotline')"
# name, table, columns, partial condition (None: the whole table)
INDEXES = (
    ("ix_links_texted_area_day", "links", [*AREA, "created_on"], TEXTED),
    ("ix_links_texted_day", "links", ["created_on"], TEXTED),
    ("ix_links_opened_area", "links", AREA, f"{TEXTED} AND opened_at IS NOT NULL"),
    ("ix_links_used_area", "links", AREA, f"{TEXTED} AND used_at IS NOT NULL"),
    (
        "ix_links_started_area",
        "links",
        AREA,
        "channel != 'correction' AND started_at IS NOT NULL",
    ),
    ("ix_applications_area_day", "applications", [*AREA, "submitted_on"], None),
    ("ix_applications_submitted_on", "applications", ["submitted_on"], None),
    (
        "ix_messages_receipts_area",
        "messages",
        [*AREA, "status"],
        "purpose = 'receipt' AND (status NOT IN ('pending', 'sending'))",
    ),
    (
        "ix_tickets_active_area",
        "tickets",
        [*AREA, "due_at"],
        "status IN ('open', 'in_progress')",
    ),
    ("ix_calls_abandoned_day", "calls", ["started_at"], "status = 'abandoned'"),
    (
        "ix_calls_answered_day",
        "calls",
        ["started_at", "queued_at", "answered_at"],
        "queued_at IS NOT NULL AND answered_at IS NOT NULL",
    ),
)
DAYS = (("links", "created_at", "created_on"), ("applications", "submitted_at", "submitted_on"))


def upgrade() -> None:
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
    for table, moment, day in DAYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(day, sa.Date(), nullable=True))
        _fill_days(table, moment, day)  # left nullable: SQLite would rebuild the table
    for name, table, columns, where in INDEXES:
        condition: dict[str, Any] = {}
        if where is not None:
            condition = {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
        op.create_index(name, table, columns, unique=False, **condition)


def _fill_days(table: str, moment: str, day: str) -> None:
    """The Beirut day of every existing row (SQLite has no time zones: done in Python)."""
    bind = op.get_bind()
    rows = sa.table(
        table, sa.column("id"), sa.column(moment, core.db.UTCDateTime()), sa.column(day, sa.Date())
    )
    if bind.dialect.name == "postgresql":
        beirut_day = sa.cast(sa.func.timezone("Asia/Beirut", rows.c[moment]), sa.Date)
        bind.execute(sa.update(rows).values({day: beirut_day}))
        return
    beirut = ZoneInfo("Asia/Beirut")
    for row_id, at in bind.execute(sa.select(rows.c.id, rows.c[moment])).all():
        value = at.astimezone(beirut).date()
        bind.execute(sa.update(rows).where(rows.c.id == row_id).values({day: value}))


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    for table, _moment, day in DAYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(day)
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("started_at")
