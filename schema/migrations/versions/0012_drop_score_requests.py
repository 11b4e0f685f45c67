"""Drop `score_requests`: the table was written and never read.

Corrections wrote a row per version to be scored and the worker marked it done, but nothing
ever chose work from it: the outbox of scores is "the application's current version has no
score with the formula" (`scoring.scores.unscored`), which `scoring sweep` reads for a new
application and a corrected one alike. Pending rows need no carrying over: the versions they
name are exactly those the sweep finds unscored. The downgrade restores the empty table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("score_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_requests_done_at"))
        batch_op.drop_index(batch_op.f("ix_score_requests_application_id"))
    op.drop_table("score_requests")


def downgrade() -> None:
    op.create_table(
        "score_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("requested_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_score_requests_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_requests")),
    )
    with op.batch_alter_table("score_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_requests_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_score_requests_done_at"), ["done_at"], unique=False)
