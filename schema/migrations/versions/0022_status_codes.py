"""One-time codes a citizen asks for to see an application's status on /status.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 14:20:00
"""

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the status page's change."""


def downgrade() -> None:
    """Filled in by the status page's change."""
