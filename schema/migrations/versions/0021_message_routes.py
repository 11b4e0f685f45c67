"""Delivery that does not give up: which provider took a message, which it must go by, the
message it is a new try at, and a family's second mobile number.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gateway", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("resend_of", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_messages_resend_of", ["resend_of"])
        batch_op.create_foreign_key(
            "fk_messages_resend_of_messages", "messages", ["resend_of"], ["id"]
        )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("second_phone")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_messages_resend_of_messages", type_="foreignkey")
        batch_op.drop_constraint("uq_messages_resend_of", type_="unique")
        batch_op.drop_column("resend_of")
        batch_op.drop_column("via")
        batch_op.drop_column("gateway")
