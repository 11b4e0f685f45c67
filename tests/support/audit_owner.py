"""The audit log's table as its owner sees it: what a test needs to play the tamperer."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def as_table_owner(db: Session) -> None:
    """Step around the append-only guard, as someone with the database's keys could."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
        db.execute(text("DROP TRIGGER audit_events_no_delete"))
