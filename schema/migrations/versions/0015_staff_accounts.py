"""Staff accounts run from the console: set-password links, account requests.

`password_resets` holds each one-time set-password link as its token's hash and salt (the
token itself is derived again from SECRET_KEY to send its SMS, core/reset_tokens.py);
`account_requests` holds a focal point's requests for more accounts of its municipality,
scoped to it like every record with a phone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SCOPE_COLUMNS = ("governorate_code", "district_code", "locality_code")


def upgrade() -> None:
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_salt", sa.String(length=32), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by_use", sa.Boolean(), nullable=False),
        sa.Column("issued_by", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"])
    op.create_table(
        "account_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("governorate_code", sa.String(length=8), nullable=True),
        sa.Column("district_code", sa.String(length=8), nullable=True),
        sa.Column("locality_code", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["staff_users.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("requested_by_id", "state", *SCOPE_COLUMNS):
        op.create_index(f"ix_account_requests_{column}", "account_requests", [column])


def downgrade() -> None:
    for column in ("requested_by_id", "state", *SCOPE_COLUMNS):
        op.drop_index(f"ix_account_requests_{column}", table_name="account_requests")
    op.drop_table("account_requests")
    op.drop_index("ix_password_resets_user_id", table_name="password_resets")
    op.drop_table("password_resets")
