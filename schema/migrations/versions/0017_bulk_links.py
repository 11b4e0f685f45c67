"""Links in bulk: a focal point's batch of numbers and each row's outcome.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import core.db  # noqa: F401

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
