"""`pending_sms`: raw inbound SMS the store keeps until a consumer decides them.

The webhook buffers each SMS in a Redis Stream and answers at once; this table is where a
message goes when Redis cannot take it, when Twilio calls the fallback URL, and when
`sms reconcile` finds one the buffer lost (core/inbox.py). Rows are deleted once decided.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_sms",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_pending_sms")),
    )
    with op.batch_alter_table("pending_sms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_sms_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_sms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_sms_received_at"))
    op.drop_table("pending_sms")
