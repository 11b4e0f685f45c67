"""The relay's marks: `messages.relayed_at` and `applications.score_relayed_version`.

Web requests no longer enqueue owed work in Redis; the relay (`jobs relay`, core/relay.py)
reads it from the store and hands it to RQ in batches, marking what it handed on so it is
not queued twice. Partial indexes keep that read cheap however large the tables grow.

Existing applications are marked relayed at their current version: any that is unscored is
found by `scoring sweep` as before, and the relay does not re-offer a whole store of scored
ones at the first start. Owed messages are left unmarked, so the relay hands them on.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MESSAGES_TO_RELAY = "status = 'pending' AND relayed_at IS NULL"
SCORES_TO_RELAY = "score_relayed_version IS NULL OR score_relayed_version < version"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("relayed_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score_relayed_version", sa.Integer(), nullable=True))
    op.execute("UPDATE applications SET score_relayed_version = version")
    op.create_index(
        "ix_messages_to_relay",
        "messages",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text(MESSAGES_TO_RELAY),
        sqlite_where=sa.text(MESSAGES_TO_RELAY),
    )
    op.create_index(
        "ix_applications_score_to_relay",
        "applications",
        ["id"],
        unique=False,
        postgresql_where=sa.text(SCORES_TO_RELAY),
        sqlite_where=sa.text(SCORES_TO_RELAY),
    )


def downgrade() -> None:
    op.drop_index("ix_applications_score_to_relay", table_name="applications")
    op.drop_index("ix_messages_to_relay", table_name="messages")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("score_relayed_version")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("relayed_at")
