"""Account requests: a focal point asks for more accounts of its municipality; an admin decides.

A focal point may ask for a mukhtar, a volunteer or another focal point, for its own
municipality only, with the person's mobile and a reason. The request holds a phone, so it is
scoped to the municipality (`AreaScoped`): its focal points see it, and the admin, who is
national. On approval the account is created in the focal point's municipality and its
password is delivered like a reset: a set-password link by SMS to that mobile.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.password_resets import FIRST_LIFETIME, Delivery, Sender, issue_link
from core.phones import NotLebaneseMobile, normalise_mobile
from core.roles import Permission, Role, can
from core.scopes import AreaScoped, OutsideArea, Viewer, covers, visible
from core.users import USERNAME, StaffUser, add_user, generate_password, set_phone

REQUESTABLE = (Role.MUKHTAR, Role.VOLUNTEER, Role.FOCAL_POINT)
MAX_REASON = 500


class RequestState(StrEnum):
    PENDING = "pending"  # waits for an admin
    APPROVED = "approved"  # the account exists; its set-password link went by SMS
    REFUSED = "refused"  # an admin said no, with a reason


class RequestEvent(StrEnum):
    MADE = "account_request.made"
    APPROVED = "account_request.approved"
    REFUSED = "account_request.refused"


class RequestInvalid(ValueError):
    """The request cannot be made or decided as asked: `problems` maps each field to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class AccountRequest(AreaScoped, Base):
    """One focal point's request for an account of its municipality."""

    __tablename__ = "account_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    username: Mapped[str] = mapped_column(String(40))
    role_value: Mapped[str] = mapped_column("role", String(20))
    phone: Mapped[str] = mapped_column(String(20))  # E.164 Lebanese mobile
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=RequestState.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(40))
    refusal: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    @property
    def role(self) -> Role:
        return Role(self.role_value)


def request_account(
    session: Session, focal: StaffUser, username: str, role: str, phone: str, reason: str
) -> AccountRequest:
    """Record a focal point's request for its own municipality; raises `RequestInvalid`."""
    if not can(focal.role, Permission.REQUEST_ACCOUNTS) or focal.locality_code is None:
        raise OutsideArea()
    fields = _checked(session, username, role, phone, reason)
    request = AccountRequest(
        requested_by_id=focal.id, state=RequestState.PENDING, created_at=utcnow(), **fields
    )
    request.place_in(focal.area)
    session.add(request)
    session.flush()
    details = {"role": request.role_value, "locality": focal.locality_code}
    audit.record(
        session, focal.username, RequestEvent.MADE, "account_request", str(request.id), details
    )
    return request


def _checked(session: Session, username: str, role: str, phone: str, reason: str) -> dict[str, str]:
    """Each field as stored, or every field's problem at once."""
    problems: dict[str, str] = {}
    name = username.strip().lower()[:64]
    if not USERNAME.fullmatch(name):
        problems["username"] = "invalid"
    elif _taken(session, name):
        problems["username"] = "taken"
    if role not in {r.value for r in REQUESTABLE}:
        problems["role"] = "invalid"
    number = ""
    try:
        number = normalise_mobile(phone)
    except NotLebaneseMobile as bad:
        problems["phone"] = bad.problem.value
    why = " ".join(reason.split())
    if not why or len(why) > MAX_REASON:
        problems["reason"] = "empty" if not why else "too_long"
    if problems:
        raise RequestInvalid(problems)
    return {"username": name, "role_value": role, "phone": number, "reason": why}


def _taken(session: Session, username: str) -> bool:
    """By an account, or by a request still waiting."""
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        return True
    waiting = select(AccountRequest.id).where(
        AccountRequest.username == username, AccountRequest.state == RequestState.PENDING
    )
    return session.scalar(waiting) is not None


def _permission(viewer: Viewer) -> Permission:
    """The admin decides on every request; a focal point follows its municipality's."""
    return (
        Permission.MANAGE_USERS
        if can(viewer.role, Permission.MANAGE_USERS)
        else (Permission.REQUEST_ACCOUNTS)
    )


def requests_visible_to(
    session: Session, viewer: Viewer, state: RequestState | None = None
) -> list[AccountRequest]:
    """The requests the viewer may see, newest first."""
    stmt = visible(select(AccountRequest), viewer, AccountRequest, _permission(viewer))
    if state is not None:
        stmt = stmt.where(AccountRequest.state == state)
    return list(session.scalars(stmt.order_by(AccountRequest.id.desc()).limit(500)))


def request_for(session: Session, viewer: Viewer, request_id: int) -> AccountRequest | None:
    """One request by id, if the viewer may see it."""
    request = session.get(AccountRequest, request_id)
    if request is None or not covers(viewer, request, _permission(viewer)):
        return None
    return request


def approve(
    session: Session, request: AccountRequest, admin: StaffUser, sender: Sender
) -> Delivery:
    """Create the account in the requester's municipality; its link goes by SMS to the phone.

    Raises `RequestInvalid` when it was decided already or the username was taken since,
    `core.password_resets.SmsRefused` when the phone sent STOP (nothing is written then).
    """
    _decidable(session, request, admin)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == request.username)):
        raise RequestInvalid({"username": "taken"})
    code = request.locality_code or ""
    user = add_user(
        session, request.username, request.role, code, generate_password(), admin.username
    )
    set_phone(session, user, request.phone, admin.username)
    delivery = issue_link(session, user, admin.username, sender, lifetime=FIRST_LIFETIME)
    _decide(request, admin, RequestState.APPROVED)
    request.account_id = user.id
    audit.record(session, admin.username, RequestEvent.APPROVED, "account_request", str(request.id))
    return delivery


def refuse(session: Session, request: AccountRequest, admin: StaffUser, reason: str) -> None:
    """Say no, with a reason the focal point reads."""
    _decidable(session, request, admin)
    why = " ".join(reason.split())
    if not why or len(why) > MAX_REASON:
        raise RequestInvalid({"reason": "empty" if not why else "too_long"})
    _decide(request, admin, RequestState.REFUSED)
    request.refusal = why
    audit.record(session, admin.username, RequestEvent.REFUSED, "account_request", str(request.id))


def _decidable(session: Session, request: AccountRequest, admin: StaffUser) -> None:
    if not covers(admin, request, Permission.MANAGE_USERS):
        raise OutsideArea()
    if request.state != RequestState.PENDING:
        raise RequestInvalid({"state": request.state})


def _decide(request: AccountRequest, admin: StaffUser, state: RequestState) -> None:
    request.state = state
    request.decided_at = utcnow()
    request.decided_by = admin.username
