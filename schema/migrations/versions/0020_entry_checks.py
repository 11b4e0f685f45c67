"""Checking what was entered: flags on applications, samples and home visits.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_AREA = ("governorate_code", "district_code", "locality_code")


def _area_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.String(length=8), nullable=True) for name in _AREA]


def _indexes(table: str, columns: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "application_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("flagged_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("sent_as", sa.String(length=10), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("correction_id", sa.Integer(), nullable=True),
        *_area_columns(),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_flags_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["correction_id"],
            ["corrections.id"],
            name=op.f("fk_application_flags_correction_id_corrections"),
        ),
        sa.ForeignKeyConstraint(
            ["flagged_by_id"],
            ["staff_users.id"],
            name=op.f("fk_application_flags_flagged_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_application_flags_reviewed_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_application_flags_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_flags")),
    )
    _indexes("application_flags", ("application_id", "created_at", "status", *_AREA))
    # One open flag per application (core/flags.py).
    op.create_index(
        "uq_application_flags_open",
        "application_flags",
        ["application_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "visit_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("area_level", sa.String(length=12), nullable=False),
        sa.Column("seed", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("last_application_id", sa.Integer(), nullable=False),
        sa.Column("population_digest", sa.String(length=64), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["drawn_by_id"],
            ["staff_users.id"],
            name=op.f("fk_visit_samples_drawn_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_samples")),
    )
    _indexes("visit_samples", ("area_code", "created_at"))
    op.create_table(
        "sample_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("visited_by_id", sa.Integer(), nullable=True),
        sa.Column("visited_at", core.db.UTCDateTime(timezone=True), nullable=True),
        *_area_columns(),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_sample_visits_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["visit_samples.id"],
            name=op.f("fk_sample_visits_sample_id_visit_samples"),
        ),
        sa.ForeignKeyConstraint(
            ["visited_by_id"],
            ["staff_users.id"],
            name=op.f("fk_sample_visits_visited_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_visits")),
        sa.UniqueConstraint("sample_id", "application_id", name=op.f("uq_sample_visits_sample_id")),
    )
    _indexes("sample_visits", ("application_id", "result", "sample_id", *_AREA))


def downgrade() -> None:
    op.drop_table("sample_visits")
    op.drop_table("visit_samples")
    op.drop_index("uq_application_flags_open", table_name="application_flags")
    op.drop_table("application_flags")
