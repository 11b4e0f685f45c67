"""Information SMS to residents: broadcasts, their approval and recipients.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import core.db  # noqa: F401

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
