"""One-time codes a citizen asks for to see an application's status on /status.

A table of its own (core/status_codes.py): a keyed hash of each code, never the code, its
Beirut day (three a day per application), its expiry and its use.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 14:20:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_status_codes_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_codes")),
    )
    op.create_index(
        "ix_status_codes_application_day",
        "status_codes",
        ["application_id", "issued_on"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_status_codes_application_day", table_name="status_codes")
    op.drop_table("status_codes")
