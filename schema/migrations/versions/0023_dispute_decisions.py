"""Disputes decided by the committee, voucher revocations.

The committee's decision on each distribution dispute (`dispute_decisions`, one per ticket);
vouchers gain `revoked_at` and `revoked_reason`, and `voucher_revocations` says why, who and
which voucher replaced a revoked one. A list entry may now hold a revoked voucher beside its
new one: the unique constraint on `vouchers.entry_id` becomes a partial unique index on the
live vouchers (expand only: existing rows are all live, so nothing is rewritten).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 17:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_LIVE = "revoked_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", core.db.UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=24), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_vouchers_entry_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_vouchers_entry_id"), ["entry_id"], unique=False)
    op.create_index(
        "uq_vouchers_live_entry",
        "vouchers",
        ["entry_id"],
        unique=True,
        postgresql_where=sa.text(_LIVE),
        sqlite_where=sa.text(_LIVE),
    )
    _dispute_decisions()
    _voucher_revocations()


def _dispute_decisions() -> None:
    op.create_table(
        "dispute_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_dispute_decisions_decided_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_dispute_decisions_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_dispute_decisions_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_decisions")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_dispute_decisions_ticket_id")),
    )
    op.create_index(
        op.f("ix_dispute_decisions_voucher_id"), "dispute_decisions", ["voucher_id"], unique=False
    )


def _voucher_revocations() -> None:
    op.create_table(
        "voucher_revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("correction_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["correction_id"],
            ["corrections.id"],
            name=op.f("fk_voucher_revocations_correction_id_corrections"),
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["vouchers.id"],
            name=op.f("fk_voucher_revocations_replaced_by_id_vouchers"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["staff_users.id"],
            name=op.f("fk_voucher_revocations_revoked_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_voucher_revocations_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["vouchers.id"],
            name=op.f("fk_voucher_revocations_voucher_id_vouchers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_revocations")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_voucher_revocations_voucher_id")),
    )
    op.create_index(
        op.f("ix_voucher_revocations_revoked_at"),
        "voucher_revocations",
        ["revoked_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_voucher_revocations_revoked_at"), table_name="voucher_revocations")
    op.drop_table("voucher_revocations")
    op.drop_index(op.f("ix_dispute_decisions_voucher_id"), table_name="dispute_decisions")
    op.drop_table("dispute_decisions")
    op.drop_index("uq_vouchers_live_entry", table_name="vouchers")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouchers_entry_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_vouchers_entry_id"), ["entry_id"])
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("revoked_at")
