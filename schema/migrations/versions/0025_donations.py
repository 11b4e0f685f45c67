"""Donations in kind or in cash and their allocations.

(Slot reserved; filled by the change that needs it.)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 17:30:00
"""

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
