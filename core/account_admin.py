"""Running staff accounts: disable, enable, change role and area, find and list them.

The rule that keeps the service manageable: an admin cannot disable or demote the last
active admin, themselves included, so there is always someone who can open the others.
A disabled account's sessions end at once (its epoch moves on; `core.users.user_by_id`
refuses it at the next request) and it cannot sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.geography import Area, resolve_area
from core.roles import AREA_LEVELS, Permission, Role
from core.scopes import Viewer, visible
from core.users import USERNAME, AccountError, StaffUser

MAX_LISTED = 500  # a page or a terminal shows this many; narrow the filters for the rest


class AccountEvent(StrEnum):
    """Audit actions of running accounts."""

    DISABLED = "staff.disabled"
    ENABLED = "staff.enabled"
    ROLE_CHANGED = "staff.role_changed"  # with the old and new role and area


class AccountState(StrEnum):
    ACTIVE = "active"  # may sign in
    DISABLED = "disabled"  # may not; its sessions ended when it was disabled


class LastAdmin(AccountError):
    """The change would leave no active admin."""

    def __init__(self) -> None:
        super().__init__("this is the last active admin account: it cannot be disabled or demoted")


class UnknownArea(AccountError):
    """No area has this code."""


class WrongLevel(AccountError):
    """The role is tied to another level of area (a focal point to a locality...)."""


@dataclass(frozen=True)
class AccountFilter:
    """What the list is narrowed to; None (or "") is any."""

    area_code: str | None = None
    role: Role | None = None
    state: AccountState | None = None
    search: str | None = None


def find_user(session: Session, username: str) -> StaffUser | None:
    """The account of this username (as typed: any case, spaces around), active or not."""
    name = username.strip().lower()[:64]
    if not USERNAME.fullmatch(name):
        return None
    return session.scalar(select(StaffUser).where(StaffUser.username == name))


def _active_admins(session: Session) -> int:
    stmt = select(func.count()).where(
        StaffUser.role_value == Role.ADMIN.value, StaffUser.is_active.is_(True)
    )
    return int(session.scalar(stmt) or 0)


def _guard_last_admin(session: Session, user: StaffUser) -> None:
    if user.role is Role.ADMIN and user.is_active and _active_admins(session) <= 1:
        raise LastAdmin()


def disable_user(session: Session, user: StaffUser, actor: str) -> bool:
    """Disable the account and end its sessions; False when it was disabled already."""
    if not user.is_active:
        return False
    _guard_last_admin(session, user)
    user.is_active = False
    user.session_epoch += 1
    audit.record(session, actor, AccountEvent.DISABLED, "staff_user", str(user.id))
    return True


def enable_user(session: Session, user: StaffUser, actor: str) -> bool:
    """Let the account sign in again (with its password); False when it was active."""
    if user.is_active:
        return False
    user.is_active = True
    audit.record(session, actor, AccountEvent.ENABLED, "staff_user", str(user.id))
    return True


def change_role_and_area(
    session: Session, user: StaffUser, role: Role, area_code: str, actor: str
) -> bool:
    """Give the account another role and area, audited with the old and new values.

    The account's open sessions go on with the new rights from their next page (rights are
    read from the account at each request). False when nothing changed.
    """
    area = resolve_area_for(session, role, area_code)
    if role is user.role and area.code == user.area_code:
        return False
    if role is not Role.ADMIN:
        _guard_last_admin(session, user)
    details = {
        "old_role": user.role_value,
        "old_area": user.area_code,
        "new_role": role.value,
        "new_area": area.code,
    }
    user.role_value = role.value
    user.area_code = area.code
    user.place_in(area)
    audit.record(session, actor, AccountEvent.ROLE_CHANGED, "staff_user", str(user.id), details)
    return True


def resolve_area_for(session: Session, role: Role, area_code: str) -> Area:
    """The area of this code, if it is of a level the role may be tied to."""
    try:
        area = resolve_area(session, area_code.strip()[:12])
    except LookupError:
        raise UnknownArea(f"unknown area {area_code!r}") from None
    if area.level not in AREA_LEVELS[role]:
        levels = " or ".join(sorted(level.value for level in AREA_LEVELS[role]))
        raise WrongLevel(f"role {role.value} needs a {levels} area, not a {area.level.value}")
    return area


def list_accounts(session: Session, viewer: Viewer, wanted: AccountFilter) -> list[StaffUser]:
    """The accounts the viewer manages that match, by username (at most `MAX_LISTED`)."""
    stmt = visible(select(StaffUser), viewer, StaffUser, Permission.MANAGE_USERS)
    stmt = _narrowed(stmt, wanted).order_by(StaffUser.username).limit(MAX_LISTED)
    return list(session.scalars(stmt))


def _narrowed(stmt: Select[StaffUser], wanted: AccountFilter) -> Select[StaffUser]:
    if wanted.area_code:
        code = wanted.area_code.strip().upper()
        stmt = stmt.where(
            or_(
                StaffUser.area_code == code,
                StaffUser.governorate_code == code,
                StaffUser.district_code == code,
                StaffUser.locality_code == code,
            )
        )
    if wanted.role is not None:
        stmt = stmt.where(StaffUser.role_value == wanted.role.value)
    if wanted.state is not None:
        stmt = stmt.where(StaffUser.is_active.is_(wanted.state is AccountState.ACTIVE))
    if wanted.search:
        typed = wanted.search.strip().lower()[:40]
        escaped = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(StaffUser.username.like(f"%{escaped}%", escape="\\"))
    return stmt
