"""The signed list of revoked vouchers: what an offline checker reads beside the public key.

    1766 revoked vouchers v1
    published 2026-12-06T17:40:00Z
    4829301749 2026-12-06T17:35:12Z dispute
    5930184726 2026-12-06T17:38:40Z correction_ineligible
    signature <Ed25519 signature over every line above, newline included, base32>

Plain ASCII lines, one revoked voucher a line (its code, when it was revoked, a reason code),
oldest first; the last line signs all the others with the voucher key, so a checker holding
only the published public key knows the list is the service's and whole. Parsing is strict:
a line added, dropped or altered fails. Imports nothing but the standard library,
`cryptography`, like the offline checker that reads it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "1766 revoked vouchers v1"
_MOMENT = "%Y-%m-%dT%H:%M:%SZ"
_PUBLISHED = re.compile(r"published (?P<at>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z)")
_LINE = re.compile(
    r"(?P<code>[0-9]{10}) (?P<at>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z) (?P<reason>[a-z_]{1,24})"
)
_SIGNATURE = re.compile(r"signature (?P<signature>[A-Z2-7]{103})")


class RevocationReason(StrEnum):
    """Why a voucher was revoked; the code printed on the list (reasons in words stay inside)."""

    DISPUTE = "dispute"  # the technical committee decided a distribution dispute against it
    CORRECTION_REISSUED = "correction_reissued"  # a correction changed the family: a new one
    CORRECTION_INELIGIBLE = "correction_ineligible"  # a correction excludes the family


class VoucherRevoked(Exception):
    """The voucher was revoked (on the list): no aid is handed over on it."""


class BadRevocationList(ValueError):
    """The document is not a whole revocation list signed by the published key."""


@dataclass(frozen=True)
class Revoked:
    """One revoked voucher as the list gives it."""

    code: str
    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class RevocationList:
    """A list read and checked: when it was published, and its vouchers by code."""

    published_at: datetime
    revoked: dict[str, Revoked]


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_MOMENT)


def _parse_moment(text: str) -> datetime:
    try:
        return datetime.strptime(text, _MOMENT).replace(tzinfo=UTC)
    except ValueError:
        raise BadRevocationList("a date on the list is not a date") from None


def signed_list(revoked: Iterable[Revoked], published_at: datetime, key: Ed25519PrivateKey) -> str:
    """The list's text, its last line the signature over everything before it."""
    lines = [HEADER, f"published {_moment(published_at)}"]
    lines += [f"{r.code} {_moment(r.revoked_at)} {r.reason}" for r in revoked]
    body = "\n".join(lines) + "\n"
    signature = key.sign(body.encode("ascii"))
    return f"{body}signature {base64.b32encode(signature).decode('ascii').rstrip('=')}\n"


def read_signed(text: str, public_key: Ed25519PublicKey) -> RevocationList:
    """The list in `text` if `public_key` signed it, whole; else `BadRevocationList`."""
    if not text.isascii():
        raise BadRevocationList("the list holds characters it never does")
    body, marker, last = text.rpartition("\nsignature ")
    match = _SIGNATURE.fullmatch(f"signature {last.rstrip(chr(10))}") if marker else None
    if match is None:
        raise BadRevocationList("the list has no signature line")
    try:
        signature = base64.b32decode(match["signature"] + "=")
        public_key.verify(signature, (body + "\n").encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError):
        raise BadRevocationList("the signature does not match: altered, or not this key") from None
    return _parse(body.split("\n"))


def _parse(lines: list[str]) -> RevocationList:
    published = _PUBLISHED.fullmatch(lines[1]) if len(lines) > 1 else None
    if lines[0] != HEADER or published is None:
        raise BadRevocationList("this is not a 1766 revocation list")
    revoked: dict[str, Revoked] = {}
    for line in lines[2:]:
        match = _LINE.fullmatch(line)
        if match is None:
            raise BadRevocationList("a line of the list is not a revoked voucher")
        at = _parse_moment(match["at"])
        revoked[match["code"]] = Revoked(match["code"], at, match["reason"])
    return RevocationList(_parse_moment(published["at"]), revoked)
