"""Decisions from every level: a decision's area may be a district or governorate.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db  # noqa: F401

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A decision's kind now also says "district" or "governorate" (11 letters).
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=10), type_=sa.String(length=16)
        )


def downgrade() -> None:
    # A district's or governorate's decision has no place in the narrower column, and a
    # register is never thinned: going back is refused while one is on record.
    found = op.get_bind().execute(
        sa.text("SELECT count(*) FROM decisions WHERE kind IN ('district', 'governorate')")
    )
    if found.scalar():
        raise RuntimeError("decisions of districts or governorates are on record; not narrowed")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=16), type_=sa.String(length=10)
        )
