"""Information SMS to residents: broadcasts, their approval and recipients.

`broadcasts` holds each information SMS with its area, state and counts; `broadcast_recipients`
the numbers it went to, once per broadcast (unique), each tied to its message in the outbox.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("audience", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("skipped", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snapshot_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("governorate_code", sa.String(length=8), nullable=True),
        sa.Column("district_code", sa.String(length=8), nullable=True),
        sa.Column("locality_code", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["staff_users.id"], name=op.f("fk_broadcasts_approver_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_users.id"], name=op.f("fk_broadcasts_author_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        for column in (
            "created_at",
            "district_code",
            "governorate_code",
            "locality_code",
            "status",
        ):
            batch_op.create_index(batch_op.f(f"ix_broadcasts_{column}"), [column], unique=False)

    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("stopped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_broadcast_recipients_message_id_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint(
            "broadcast_id", "phone", name=op.f("uq_broadcast_recipients_broadcast_id")
        ),
    )
    op.create_index("ix_broadcast_recipients_chunk", "broadcast_recipients", ["broadcast_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_broadcast_recipients_chunk", table_name="broadcast_recipients")
    op.drop_table("broadcast_recipients")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        for column in (
            "status",
            "locality_code",
            "governorate_code",
            "district_code",
            "created_at",
        ):
            batch_op.drop_index(batch_op.f(f"ix_broadcasts_{column}"))
    op.drop_table("broadcasts")
