"""Staff accounts made in bulk for tests that need many: one Argon2 hash for all of them.

`tests.support.factories.make_user` goes through `core.users.add_user`, which hashes each
password on purpose slowly; a story with a dozen accounts per test would spend its time
hashing. These accounts share one hash of `PASSWORD`, so they sign in as any other, and have
accepted the pledge. (No `staff.created` audit event: these tests do not read it.)
"""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from core.db import utcnow
from core.geography import resolve_area
from core.roles import Role
from core.users import StaffUser
from tests.support.factories import PASSWORD

_HASH = PasswordHasher().hash(PASSWORD)


def account(
    db: Session,
    username: str,
    role: Role,
    area_code: str,
    phone: str | None = None,
    language: str = "ar",
) -> StaffUser:
    """An active, pledged account of `role` in `area_code` (which must be loaded)."""
    area = resolve_area(db, area_code)
    user = StaffUser(
        username=username,
        role_value=role.value,
        area_code=area.code,
        password_hash=_HASH,
        language=language,
        phone=phone,
        is_active=True,
        session_epoch=0,
        pledge_accepted_at=utcnow(),
    )
    user.place_in(area)
    db.add(user)
    db.flush()
    return user
