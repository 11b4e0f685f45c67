"""A link's token: made once, kept only as a hash, derived again to send its SMS.

A stored SMS holds `<link N>` where link N's token goes; the send job puts the token in. A
token typed or opened is looked up by its hash, and an address that guesses is throttled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import throttle
from core.links import Link, LinkUnavailable
from core.reset_tokens import RESET_IN_STORE, TokenLost, with_reset_tokens

TOKEN_BYTES = 18  # 144 bits
TOKEN_LENGTH = 24  # characters of a token in a URL (base64url of TOKEN_BYTES)
# What a stored SMS holds where its link's token goes; the token is put in at send time.
_LINK_IN_STORE = re.compile(r"<link (\d+)>")
GUESSES_PER_ADDRESS = throttle.Limit(30, timedelta(minutes=10))


class TooManyGuesses(Exception):
    """This address has tried too many unknown tokens; it must wait."""


class LinkTokenLost(Exception):
    """A stored SMS names a link whose token can no longer be derived (SECRET_KEY changed)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def derive_token(key: str, salt: str) -> str:
    """The link's token: HMAC-SHA256 of its salt under SECRET_KEY, cut to 144 bits.

    The store keeps the salt and the token's hash, never the token: a copy of the database or
    of a backup opens no form. The send job derives the same token again, so a retried or
    reconciled send carries exactly the text the first attempt carried.
    """
    digest = hmac.new(key.encode("utf-8"), b"1766 link token\0" + salt.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()[:TOKEN_BYTES]).decode("ascii")


def new_token(key: str | None) -> tuple[str, str | None]:
    """A fresh token and its salt: derived from SECRET_KEY when given, else random, unsalted."""
    if key is None:
        return secrets.token_urlsafe(TOKEN_BYTES), None
    salt = secrets.token_hex(16)
    return derive_token(key, salt), salt


def stored_url(public_base_url: str, link: Link) -> str:
    """The link's URL as a stored SMS holds it: its id where the token will go."""
    return f"{public_base_url}/f/<link {link.id}>"


def with_tokens(session: Session, body: str, key: str) -> str:
    """A stored SMS as it is sent: each `<link N>` replaced by link N's token.

    Raises `LinkTokenLost` when a token cannot be derived again (the link is unknown or
    unsalted, or SECRET_KEY changed since it was issued): sending it would send a dead link.
    """

    def token(match: re.Match[str]) -> str:
        link = session.get(Link, int(match.group(1)))
        if link is None or link.token_salt is None:
            raise LinkTokenLost()
        found = derive_token(key, link.token_salt)
        if not hmac.compare_digest(hash_token(found), link.token_hash):
            raise LinkTokenLost()
        return found

    try:  # a set-password link (core/reset_tokens.py) is put in the same way
        body = with_reset_tokens(session, body, key)
    except TokenLost:
        raise LinkTokenLost() from None
    return _LINK_IN_STORE.sub(token, body)


def as_sent_length(body: str) -> str:
    """A stand-in of the sent text, as long, to count its segments at rest."""
    body = RESET_IN_STORE.sub("x" * TOKEN_LENGTH, body)  # the same length as a link's
    return _LINK_IN_STORE.sub("x" * TOKEN_LENGTH, body)


_BY_TOKEN = select(Link).where(Link.token_hash == bindparam("token_hash"))


def link_for_token(session: Session, token: str, address: str) -> Link:
    """The link a token opens; raises `LinkUnavailable` or `TooManyGuesses`.

    Only misses are counted and only misses are throttled: mobile operators put many phones
    behind one address, and a guesser next to them must not lock out citizens holding real
    links. A throttled address still gets nothing for its guesses.
    """
    link = None
    if 16 <= len(token) <= 64:
        link = session.scalar(_BY_TOKEN, {"token_hash": hash_token(token)})
    if link is not None:
        return link
    key = f"links:guess:{address}"
    if not throttle.take(session, key, GUESSES_PER_ADDRESS):
        raise TooManyGuesses()
    raise LinkUnavailable()
