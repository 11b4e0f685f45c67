"""Links in bulk: a focal point's batch of numbers and each row's outcome.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("governorate_code", sa.String(length=8), nullable=True),
        sa.Column("district_code", sa.String(length=8), nullable=True),
        sa.Column("locality_code", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["staff_users.id"], name=op.f("fk_link_batches_sender_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_batches")),
    )
    with op.batch_alter_table("link_batches", schema=None) as batch_op:
        for column in ("sender_id", "governorate_code", "district_code", "locality_code"):
            batch_op.create_index(batch_op.f(f"ix_link_batches_{column}"), [column], unique=False)

    op.create_table(
        "link_batch_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("typed", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["link_batches.id"], name=op.f("fk_link_batch_rows_batch_id_link_batches")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name=op.f("fk_link_batch_rows_link_id_links")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_link_batch_rows_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_batch_rows")),
        sa.UniqueConstraint("batch_id", "phone", name=op.f("uq_link_batch_rows_batch_id")),
    )
    with op.batch_alter_table("link_batch_rows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_link_batch_rows_batch_outcome", ["batch_id", "outcome", "line"], unique=False
        )


def downgrade() -> None:
    op.drop_table("link_batch_rows")
    op.drop_table("link_batches")
