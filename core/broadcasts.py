"""Information SMS to the residents of an area (circular §4.1b): written, approved, sent.

An account with `SEND_BROADCASTS` writes one SMS for the numbers known in its own area (the
broadcast's area is always the author's). A national or governorate broadcast reaches so many
people that a second account must approve it: another account with the permission whose area
covers the broadcast's (another ministry account; the governor or the ministry). A district
or municipality broadcast goes after its author's confirmation. Each step is audited with
counts, never with phone numbers. Who the SMS goes to, and how it is owed, is
`core/broadcast_audience.py`; the job that sends it is `core/broadcast_jobs.py`.

The text: at most `MAX_SEGMENTS` (3) segments, i.e. 459 characters in GSM-7 or 201 in UCS-2
(any Arabic letter makes it UCS-2); no markup, and no web address: an SMS from the
authorities with a link is what a phishing SMS looks like, and the programme's own channels
(1766, the municipality) are what residents are told to use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, fields
from core.db import Base, UTCDateTime, utcnow
from core.fields import FieldError, FormInput
from core.geography import AreaLevel
from core.roles import Permission, can
from core.scopes import AreaScoped, Viewer, covers, visible
from core.segments import segments, strip_invisibles
from core.users import StaffUser

MAX_SEGMENTS = 3  # what a carrier bills per resident; three parts still read as one SMS
MAX_CHARS = 3 * 153  # the most three GSM-7 parts hold; UCS-2 is cut by MAX_SEGMENTS first
LANGUAGES = ("ar", "en", "fr")
LIMIT = 100  # the list shows this many, newest first
# Levels whose broadcasts wait for a second account (the four eyes of a wide audience).
APPROVED_LEVELS = frozenset({AreaLevel.NATIONAL, AreaLevel.GOVERNORATE})

TOO_MANY_SEGMENTS = "too_many_segments"  # params: max, segments
WEB_ADDRESS = "web_address"
NO_AUDIENCE = "no_audience"  # no number of the area can receive it (none known, or all STOP)
_WEB_ADDRESS = re.compile(
    r"https?:|www\.|\b[a-z0-9-]+\.(?:com|net|org|info|biz|lb|gov|io|me|ly|co|link|app|site)\b",
    re.IGNORECASE,
)


class BroadcastStatus(StrEnum):
    """Where a broadcast is."""

    DRAFT = "draft"  # written; waits for its author's confirmation (district, municipality)
    AWAITING_APPROVAL = "awaiting_approval"  # national or governorate: a second account decides
    REFUSED = "refused"  # the second account refused it: never sent
    SENDING = "sending"  # confirmed or approved: the job writes recipients and owes the SMS
    SENT = "sent"  # every recipient's SMS is in the outbox (the gateway sends at its rate)


class Broadcast(AreaScoped, Base):
    """One information SMS to the numbers known in an area (the author's)."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(12))  # the area's level (national ... locality)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    encoding: Mapped[str] = mapped_column(String(8))  # GSM-7 or UCS-2
    segments: Mapped[int] = mapped_column(Integer)  # per SMS
    status: Mapped[str] = mapped_column(String(20), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Counted when written (what the author and approver saw); the snapshot's own counts after.
    audience: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int | None] = mapped_column(Integer)  # the snapshot: numbers, STOP ones in
    skipped: Mapped[int | None] = mapped_column(Integer)  # of them, STOP at the snapshot
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # confirmed or decided
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def needs_approval(self) -> bool:
        return AreaLevel(self.level) in APPROVED_LEVELS


class BroadcastRecipient(Base):
    """One number a broadcast goes to, written once (unique per broadcast): a job run twice,
    or resumed after a crash, owes nobody a second SMS. Reached only through its broadcast,
    as counts; its phone is never listed on a page."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "phone"),
        # The job walks a broadcast's recipients by id, a chunk at a time.
        Index("ix_broadcast_recipients_chunk", "broadcast_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    phone: Mapped[str] = mapped_column(String(20))
    stopped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class BroadcastInvalid(fields.FormRefused):
    """The text cannot be sent as an information SMS."""


class Refusal(StrEnum):
    """Why an action on a broadcast was refused; the page says it in the user's language."""

    NOT_A_SENDER = "not_a_sender"  # the account may not send information SMS
    OWN_BROADCAST = "own_broadcast"  # the author cannot be the second account
    OUTSIDE_AREA = "outside_area"  # the broadcast's area is not within the account's
    ALREADY_DONE = "already_done"  # confirmed, decided or sent already (a second click)
    NOT_THE_AUTHOR = "not_the_author"  # only the author confirms a draft


class BroadcastRefused(PermissionError):
    """An action the account may not take on this broadcast now; nothing was written."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class BroadcastDraft:
    """A text as typed and cleaned, with what it costs per SMS."""

    text: str
    language: str
    encoding: str
    segments: int


_FIELDS: dict[str, fields.Cleaner] = {
    "text": fields.paragraphs(MAX_CHARS),
    "language": fields.choice(LANGUAGES),
}


def clean_broadcast(form: FormInput) -> BroadcastDraft:
    """The posted form as a draft, or `BroadcastInvalid` listing every refusal."""
    context = fields.Context(utcnow().date(), locality_exists=lambda _code: False)
    data, errors = fields.clean_fields(_FIELDS, form, context)
    if "text" in data:
        data["text"] = strip_invisibles(data["text"])
        errors += _text_problems(data["text"])
    if errors:
        raise BroadcastInvalid(errors)
    encoding, count = segments(data["text"])
    return BroadcastDraft(data["text"], data["language"], encoding, count)


def _text_problems(text: str) -> list[FieldError]:
    if _WEB_ADDRESS.search(text):
        return [FieldError("text", WEB_ADDRESS)]
    _encoding, count = segments(text)
    if count > MAX_SEGMENTS:
        return [FieldError("text", TOO_MANY_SEGMENTS, {"max": MAX_SEGMENTS, "segments": count})]
    return []


# --- writing, confirming, deciding -------------------------------------------------------------


def write_broadcast(
    session: Session, author: StaffUser, draft: BroadcastDraft, audience: int, stopped: int
) -> Broadcast:
    """Record a broadcast for the author's area, awaiting confirmation or approval."""
    if not can(author.role, Permission.SEND_BROADCASTS):
        raise BroadcastRefused(Refusal.NOT_A_SENDER)
    if audience - stopped <= 0:
        raise BroadcastInvalid([FieldError("text", NO_AUDIENCE)])
    area = author.area
    broadcast = Broadcast(
        level=area.level.value,
        text=draft.text,
        language=draft.language,
        encoding=draft.encoding,
        segments=draft.segments,
        author_id=author.id,
        audience=audience,
        stopped=stopped,
        created_at=utcnow(),
    )
    broadcast.place_in(area)
    approval = broadcast.needs_approval
    broadcast.status = BroadcastStatus.AWAITING_APPROVAL if approval else BroadcastStatus.DRAFT
    session.add(broadcast)
    session.flush()
    _audit(session, author, broadcast, "broadcast.written", audience=audience, stopped=stopped)
    return broadcast


def confirm(session: Session, author: StaffUser, broadcast: Broadcast) -> None:
    """The author sends a district or municipality broadcast: SENDING, once."""
    if broadcast.author_id != author.id:
        raise BroadcastRefused(Refusal.NOT_THE_AUTHOR)
    if broadcast.needs_approval:
        raise BroadcastRefused(Refusal.OWN_BROADCAST)  # it goes on another account's approval
    _move(session, broadcast, BroadcastStatus.DRAFT, BroadcastStatus.SENDING)
    _audit(session, author, broadcast, "broadcast.confirmed", audience=broadcast.audience)


def decide(session: Session, approver: StaffUser, broadcast: Broadcast, approve: bool) -> None:
    """A second account approves (SENDING) or refuses a national or governorate broadcast."""
    if not covers(approver, broadcast, Permission.SEND_BROADCASTS):
        raise BroadcastRefused(Refusal.OUTSIDE_AREA)
    if broadcast.author_id == approver.id:
        raise BroadcastRefused(Refusal.OWN_BROADCAST)
    new = BroadcastStatus.SENDING if approve else BroadcastStatus.REFUSED
    _move(session, broadcast, BroadcastStatus.AWAITING_APPROVAL, new)
    broadcast.approver_id = approver.id
    event = "broadcast.approved" if approve else "broadcast.refused"
    _audit(session, approver, broadcast, event, audience=broadcast.audience)


def _move(session: Session, broadcast: Broadcast, old: str, new: str) -> None:
    """One conditional update: of two clicks (two tabs, two approvers) only one moves it."""
    moved = session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == old)
        .values(status=new, decided_at=utcnow())
        .returning(Broadcast.id)
        .execution_options(synchronize_session=False)
    ).first()
    if moved is None:
        raise BroadcastRefused(Refusal.ALREADY_DONE)
    session.refresh(broadcast)


def _audit(
    session: Session, actor: StaffUser, broadcast: Broadcast, event: str, **counts: int
) -> None:
    details: dict[str, str | int] = {
        "level": broadcast.level,
        "segments": broadcast.segments,
        **counts,
    }
    audit.record(session, actor.username, event, "broadcast", str(broadcast.id), details)


# --- reading --------------------------------------------------------------------------------


def broadcasts_visible_to(session: Session, viewer: Viewer, limit: int = LIMIT) -> list[Broadcast]:
    """The broadcasts of the viewer's area, newest first (a governor: its governorate's)."""
    stmt = select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
    return list(
        session.scalars(visible(stmt, viewer, Broadcast, Permission.SEND_BROADCASTS).limit(limit))
    )


def broadcast_for(session: Session, viewer: Viewer, broadcast_id: int) -> Broadcast | None:
    """One broadcast the viewer's scope covers, or None."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or not covers(viewer, broadcast, Permission.SEND_BROADCASTS):
        return None
    return broadcast


def may_decide(viewer: StaffUser, broadcast: Broadcast) -> bool:
    """Whether the page offers this viewer Approve and Refuse."""
    return (
        broadcast.status == BroadcastStatus.AWAITING_APPROVAL
        and broadcast.author_id != viewer.id
        and covers(viewer, broadcast, Permission.SEND_BROADCASTS)
    )
