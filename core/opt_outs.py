"""Numbers that sent STOP: nothing is sent to them but direct answers to their own requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, bindparam, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, table, utcnow


class SmsOptOut(Base):
    """One number that asked not to receive messages it did not ask for."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def stop(session: Session, phone: str) -> None:
    if session.get(SmsOptOut, phone) is None:
        session.add(SmsOptOut(phone=phone, stopped_at=utcnow()))
        session.flush()


def start(session: Session, phone: str) -> None:
    session.execute(delete(SmsOptOut).where(SmsOptOut.phone == phone))


# Built once, run in Core on the session's connection: every SMS owed (every submission's
# acknowledgement) asks it. Skipping the ORM's autoflush is safe because nothing leaves an
# opt-out pending: `stop` flushes what it adds and `start` deletes with a statement.
_STOPPED = select(table(SmsOptOut).c.phone).where(table(SmsOptOut).c.phone == bindparam("phone"))


def has_stopped(session: Session, phone: str) -> bool:
    return session.connection().execute(_STOPPED, {"phone": phone}).first() is not None
