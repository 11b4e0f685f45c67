"""Family keys are looked up by value: the unique constraint leads with it.

The submission asks "is any of these values already known in this round?" on every form.
With (programme_id, kind, value, …) PostgreSQL narrowed by round and then filtered every
key of the round (seen on young tables, whose statistics lag); led by the value, the index
answers directly whatever the statistics say. The separate index on value is redundant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("family_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_keys_value"))
        batch_op.drop_constraint(batch_op.f("uq_family_keys_programme_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_family_keys_value"), ["value", "programme_id", "kind", "unique_value"]
        )


def downgrade() -> None:
    with op.batch_alter_table("family_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_family_keys_value"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_family_keys_programme_id"),
            ["programme_id", "kind", "value", "unique_value"],
        )
        batch_op.create_index(batch_op.f("ix_family_keys_value"), ["value"], unique=False)
