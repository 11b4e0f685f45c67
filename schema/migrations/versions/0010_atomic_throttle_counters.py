"""Throttle counts as one row per key (`throttle_counters`), changed by a single upsert so
that concurrent attempts cannot overrun a limit. The per-attempt `throttle_hits` table is no
longer written; it stays for one release (processes of the previous release may still write
it during a rolling deploy) and the next migration drops it. Counts start afresh.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 02:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("until", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_throttle_counters")),
    )
    with op.batch_alter_table("throttle_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_throttle_counters_until"), ["until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("throttle_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_throttle_counters_until"))
    op.drop_table("throttle_counters")
