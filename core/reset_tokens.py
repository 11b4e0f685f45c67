"""Set-password links: the table, and the token made once, kept only as a hash.

Like a form link's token (core/link_tokens.py), a set-password token is derived from SECRET_KEY
and a salt, so the store holds neither the token nor anything that opens an account: the SMS
that carries it is stored with `<reset N>` where the token goes, and the send job derives it
again. A copy of the database, or of the message log, sets nobody's password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow

TOKEN_BYTES = 18  # 144 bits, as a form link's
TOKEN_LENGTH = 24  # base64url characters of TOKEN_BYTES
RESET_IN_STORE = re.compile(r"<reset (\d+)>")


class TokenLost(Exception):
    """A stored SMS names a set-password link whose token cannot be derived again."""


class PasswordReset(Base):
    """One set-password link of an account: usable once, until `expires_at`."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set once the link can no longer be used: it set a password, or a newer link replaced it.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_use: Mapped[bool] = mapped_column(default=False)
    issued_by: Mapped[str] = mapped_column(String(40))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def derive_token(key: str, salt: str) -> str:
    """HMAC-SHA256 of the salt under SECRET_KEY, in a domain of its own (never a form link's)."""
    digest = hmac.new(key.encode("utf-8"), b"1766 set-password\0" + salt.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()[:TOKEN_BYTES]).decode("ascii")


def new_token(key: str) -> tuple[str, str]:
    """A fresh token and the salt it is derived from."""
    salt = secrets.token_hex(16)
    return derive_token(key, salt), salt


def stored_url(public_base_url: str, reset: PasswordReset) -> str:
    """The link as a stored SMS holds it: the reset's id where the token will go."""
    return f"{public_base_url}/console/set-password/<reset {reset.id}>"


def with_reset_tokens(session: Session, body: str, key: str) -> str:
    """A stored SMS as it is sent: each `<reset N>` replaced by reset N's token."""

    def token(match: re.Match[str]) -> str:
        reset = session.get(PasswordReset, int(match.group(1)))
        if reset is None:
            raise TokenLost()
        found = derive_token(key, reset.token_salt)
        if not hmac.compare_digest(hash_token(found), reset.token_hash):
            raise TokenLost()
        return found

    return RESET_IN_STORE.sub(token, body)
