"""Donations in kind or in cash and their allocations.

`donations`: one row per donation received by a municipality (or, with no area, by the
ministry), its quantity or amount in hundredths and the running total allocated from it.
`donation_allocations`: each part given to a week's needs report or to a family's voucher,
with the target's area.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 17:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_AREA = ("governorate_code", "district_code", "locality_code")


def _area_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.String(length=8), nullable=True) for name in _AREA]


def upgrade() -> None:
    op.create_table(
        "donations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("donor_kind", sa.String(length=12), nullable=False),
        sa.Column("donor_name", sa.String(length=120), nullable=True),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("hundredths", sa.BigInteger(), nullable=False),
        sa.Column("allocated_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        *_area_columns(),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_donations_recorded_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donations")),
    )
    with op.batch_alter_table("donations", schema=None) as batch_op:
        for name in (*_AREA, "received_on"):
            batch_op.create_index(batch_op.f(f"ix_donations_{name}"), [name], unique=False)

    op.create_table(
        "donation_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("needs_report_id", sa.Integer(), nullable=True),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("hundredths", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("allocated_by_id", sa.Integer(), nullable=True),
        sa.Column("allocated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        *_area_columns(),
        sa.ForeignKeyConstraint(
            ["allocated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_donation_allocations_allocated_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["donation_id"],
            ["donations.id"],
            name=op.f("fk_donation_allocations_donation_id_donations"),
        ),
        sa.ForeignKeyConstraint(
            ["needs_report_id"],
            ["needs_reports.id"],
            name=op.f("fk_donation_allocations_needs_report_id_needs_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["vouchers.id"],
            name=op.f("fk_donation_allocations_voucher_id_vouchers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donation_allocations")),
    )
    with op.batch_alter_table("donation_allocations", schema=None) as batch_op:
        for name in (*_AREA, "donation_id", "voucher_id"):
            batch_op.create_index(
                batch_op.f(f"ix_donation_allocations_{name}"), [name], unique=False
            )


def downgrade() -> None:
    op.drop_table("donation_allocations")
    op.drop_table("donations")
