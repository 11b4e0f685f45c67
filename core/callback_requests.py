"""Call-back requests: a caller without a smartphone asks 1766 to be called back.

The complaint room routes each request to a municipality, whose focal points call back and
fill the form with the caller; a municipality sees only the requests given to it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.geography import Area
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, covers, visible


class CallbackStatus(StrEnum):
    """A call-back request's progress."""

    OPEN = "open"  # waiting for the room to route it
    ASSIGNED = "assigned"  # given to a municipality, whose focal points call back
    DONE = "done"  # the caller was called back


class CallbackRequest(AreaScoped, Base):
    """A caller without a smartphone asks a volunteer to call back and fill the form."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ar")
    town_recording_url: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def request_callback(
    session: Session, *, phone: str, language: str, town_recording_url: str | None
) -> CallbackRequest:
    request = CallbackRequest(
        phone=phone,
        language=language,
        town_recording_url=town_recording_url,
        status=CallbackStatus.OPEN,
        created_at=utcnow(),
    )
    session.add(request)
    session.flush()
    return request


def callbacks_visible_to(
    session: Session, viewer: Viewer, limit: int = 100
) -> list[CallbackRequest]:
    """The room routes every call-back; a municipality sees those assigned to it."""
    stmt = select(CallbackRequest).order_by(
        CallbackRequest.created_at.desc(), CallbackRequest.id.desc()
    )
    if can(viewer.role, Permission.HANDLE_COMPLAINTS):
        stmt = visible(stmt, viewer, CallbackRequest, Permission.HANDLE_COMPLAINTS)
    else:
        stmt = visible(stmt, viewer, CallbackRequest, Permission.ENTER_APPLICATIONS).where(
            CallbackRequest.status != CallbackStatus.OPEN
        )
    return list(session.scalars(stmt.limit(limit)))


def callback_for(session: Session, viewer: Viewer, callback_id: int) -> CallbackRequest | None:
    callback = session.get(CallbackRequest, callback_id)
    if callback is None:
        return None
    if can(viewer.role, Permission.HANDLE_COMPLAINTS):
        return callback if covers(viewer, callback, Permission.HANDLE_COMPLAINTS) else None
    if callback.status == CallbackStatus.OPEN:
        return None
    return callback if covers(viewer, callback, Permission.ENTER_APPLICATIONS) else None


def assign_callback(session: Session, callback: CallbackRequest, town: Area, actor: str) -> None:
    """Give the call-back to a municipality: its focal points see it in their console."""
    callback.place_in(town)
    callback.status, callback.assigned_at = CallbackStatus.ASSIGNED, utcnow()
    audit.record(
        session,
        actor,
        "callback.assigned",
        "callback",
        str(callback.id),
        {"locality": callback.locality_code},
    )


def callback_done(session: Session, callback: CallbackRequest, actor: str) -> None:
    callback.status, callback.done_at = CallbackStatus.DONE, utcnow()
    audit.record(session, actor, "callback.done", "callback", str(callback.id))
