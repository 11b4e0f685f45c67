"""Handover as the circular describes: declarations, assistants, list approvals.

Three tables of distribution/: a refusal's signed declaration and its paper number
(`handover_declarations`, declarations.py), the mukhtars and volunteers assigned to help
with a list's handover in their municipality and who assisted with each record
(`assist_assignments`, `handover_assists`, assists.py), and the committee members'
approvals of a published list (`list_approvals`, approvals.py).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 17:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_declarations",
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("paper_number", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_handover_declarations_handover_id_handovers"),
        ),
        sa.PrimaryKeyConstraint("handover_id", name=op.f("pk_handover_declarations")),
    )
    op.create_index(
        op.f("ix_handover_declarations_paper_number"),
        "handover_declarations",
        ["paper_number"],
        unique=False,
    )
    op.create_table(
        "assist_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("locality_code", sa.String(length=8), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_users.id"],
            name=op.f("fk_assist_assignments_account_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["staff_users.id"],
            name=op.f("fk_assist_assignments_assigned_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["beneficiary_lists.id"],
            name=op.f("fk_assist_assignments_list_id_beneficiary_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_assignments")),
        sa.UniqueConstraint(
            "list_id",
            "locality_code",
            "account_id",
            name=op.f("uq_assist_assignments_list_id"),
        ),
    )
    op.create_index(
        op.f("ix_assist_assignments_list_id"), "assist_assignments", ["list_id"], unique=False
    )
    op.create_table(
        "handover_assists",
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_users.id"],
            name=op.f("fk_handover_assists_account_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_handover_assists_handover_id_handovers"),
        ),
        sa.PrimaryKeyConstraint("handover_id", name=op.f("pk_handover_assists")),
    )
    op.create_table(
        "list_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["beneficiary_lists.id"],
            name=op.f("fk_list_approvals_list_id_beneficiary_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["staff_users.id"],
            name=op.f("fk_list_approvals_member_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_approvals")),
        sa.UniqueConstraint("list_id", "member_id", name=op.f("uq_list_approvals_list_id")),
    )
    op.create_index(op.f("ix_list_approvals_list_id"), "list_approvals", ["list_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_list_approvals_list_id"), table_name="list_approvals")
    op.drop_table("list_approvals")
    op.drop_table("handover_assists")
    op.drop_index(op.f("ix_assist_assignments_list_id"), table_name="assist_assignments")
    op.drop_table("assist_assignments")
    op.drop_index(op.f("ix_handover_declarations_paper_number"), table_name="handover_declarations")
    op.drop_table("handover_declarations")
