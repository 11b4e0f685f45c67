"""STOP and the daily cap on every SMS, and no live link token at rest.

- `messages.capped`: the SMS counts toward its phone's daily cap (core/sms_policy.py);
  existing rows count as not capped.
- `messages.status` may now be `suppressed` (withheld by STOP or the cap): the dashboard's
  index of acknowledgements handed to the gateway leaves those out too.
- `links.token_salt`: with SECRET_KEY it derives the token again at send time, so a stored
  SMS holds `<link N>` where the token goes (core/links.py).
- The bodies of link SMS already handed to the gateway had the full `/f/<token>` URL: the
  token is replaced by `[redacted]`. Those still owed (pending, sending) keep it until sent:
  their text must go out as it was written. On SQLite and PostgreSQL the old bytes may stay
  in free pages or dead rows until `VACUUM`; backups made before the upgrade still hold them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:40:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

AREA = ["governorate_code", "district_code", "locality_code"]
RECEIPTS_BEFORE = "purpose = 'receipt' AND (status NOT IN ('pending', 'sending'))"
RECEIPTS_NOW = "purpose = 'receipt' AND (status NOT IN ('pending', 'sending', 'suppressed'))"
LINK_PURPOSES = ("form_link", "correction_link")
TOKEN_IN_URL = re.compile(r"/f/[A-Za-z0-9_-]{16,64}")
REDACTED = "/f/[redacted]"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("capped", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_salt", sa.String(length=32), nullable=True))
    _receipts_index(RECEIPTS_NOW)
    _redact_sent_link_bodies()


def _receipts_index(where: str) -> None:
    op.drop_index("ix_messages_receipts_area", table_name="messages")
    op.create_index(
        "ix_messages_receipts_area",
        "messages",
        [*AREA, "status"],
        unique=False,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def _redact_sent_link_bodies() -> None:
    """Every link SMS handed to the gateway loses its token (done in Python: SQLite has no
    regular expressions)."""
    bind = op.get_bind()
    messages = sa.table(
        "messages", sa.column("id"), sa.column("body"), sa.column("purpose"), sa.column("status")
    )
    rows = bind.execute(
        sa.select(messages.c.id, messages.c.body).where(
            messages.c.purpose.in_(LINK_PURPOSES),
            messages.c.status.not_in(("pending", "sending")),
        )
    ).all()
    for message_id, body in rows:
        redacted = TOKEN_IN_URL.sub(REDACTED, body)
        if redacted != body:
            bind.execute(
                sa.update(messages).where(messages.c.id == message_id).values(body=redacted)
            )


def downgrade() -> None:
    _receipts_index(RECEIPTS_BEFORE)
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("token_salt")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("capped")
