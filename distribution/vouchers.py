"""Signed vouchers: what the army checks before handing aid over, offline if need be.

A voucher's token is its claim in plain text and an Ed25519 signature over exactly that text:

    1766V1.4829301749.12.5930184726.21111.2020-05-10.<signature, base32>
    prefix code       list reference  locality issued

Only the service holds the private key; the public key is published, so anyone can check a
voucher with it and the `cryptography` library alone (`python -m distribution.voucher_check`).
Base32 (upper case, no padding) keeps the whole token in a QR code's alphanumeric mode, which
makes a smaller code than base64's byte mode, and survives a scanner that upper-cases.
Parsing is strict and canonical: a token has one spelling, so any altered byte fails.
Imports nothing but the standard library, `cryptography` and the check-digit helper.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.references import is_valid

PREFIX = "1766V1"  # the format's version: a new format gets a new prefix, never a new meaning
MAX_TOKEN = 256  # a V1 token is 152 characters; anything much longer is not one
_SIGNATURE_LENGTH = 103  # 64 bytes in unpadded base32
_TOKEN = re.compile(
    r"(?P<claim>1766V1\.(?P<code>[0-9]{10})\.(?P<list>[1-9][0-9]{0,9})\.(?P<reference>[0-9]{10})"
    r"\.(?P<locality>[0-9]{5})\.(?P<issued>[0-9]{4}-[0-9]{2}-[0-9]{2}))"
    rf"\.(?P<signature>[A-Z2-7]{{{_SIGNATURE_LENGTH}}})"
)
_OTHER_VERSION = re.compile(r"1766V[0-9]{1,3}\.")
_LOCALITY = re.compile(r"[0-9]{5}")


class Problem(StrEnum):
    """Why a token is refused; adapters turn each into words."""

    MALFORMED = "malformed"  # not shaped like a voucher (truncated, garbled, too long)
    UNKNOWN_VERSION = "unknown_version"  # a voucher format this service does not issue
    BAD_SIGNATURE = "bad_signature"  # well formed, but not signed by the published key


class InvalidVoucher(ValueError):
    """The token is not a voucher this service signed; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"invalid voucher: {problem}")
        self.problem = problem


@dataclass(frozen=True)
class Claim:
    """What a voucher says: which family, on which list, in which municipality, since when."""

    code: str  # 10 digits, the last a Verhoeff check digit: what an officer types
    list_id: int
    reference: str  # the application's reference
    locality_code: str  # the municipality where the aid is handed over
    issued_on: date

    def text(self) -> str:
        """The canonical text the signature covers (the token before its last dot)."""
        problem = self._problem()
        if problem:
            raise ValueError(f"cannot sign this claim: {problem}")
        fields = (PREFIX, self.code, str(self.list_id), self.reference, self.locality_code)
        return ".".join((*fields, self.issued_on.isoformat()))

    def _problem(self) -> str | None:
        if len(self.code) != 10 or not self.code.isdigit() or not is_valid(self.code):
            return "the code is not 10 digits with their check digit"
        if len(self.reference) != 10 or not self.reference.isdigit():
            return "the reference is not 10 digits"
        if not 0 < self.list_id < 10**10:
            return "the list id is out of range"
        if not _LOCALITY.fullmatch(self.locality_code):
            return "the locality code is not 5 digits"
        return None


def sign(claim: Claim, private_key: Ed25519PrivateKey) -> str:
    """The voucher's token: the claim's text, a dot, and the signature over that text."""
    text = claim.text()
    signature = private_key.sign(text.encode("ascii"))
    return f"{text}.{_b32(signature)}"


def verify(token: str, public_key: Ed25519PublicKey) -> Claim:
    """The claim of a token signed by `public_key`'s private half; else `InvalidVoucher`."""
    if len(token) > MAX_TOKEN or not token.isascii():
        raise InvalidVoucher(Problem.MALFORMED)
    match = _TOKEN.fullmatch(token)
    if match is None:
        if _OTHER_VERSION.match(token) and not token.startswith(PREFIX + "."):
            raise InvalidVoucher(Problem.UNKNOWN_VERSION)
        raise InvalidVoucher(Problem.MALFORMED)
    signature = _unb32(match["signature"])
    try:
        public_key.verify(signature, match["claim"].encode("ascii"))
    except InvalidSignature:
        raise InvalidVoucher(Problem.BAD_SIGNATURE) from None
    return _claim(match)


def _claim(match: re.Match[str]) -> Claim:
    try:
        issued = date.fromisoformat(match["issued"])
    except ValueError:  # only a key holder could sign an impossible date; refuse it anyway
        raise InvalidVoucher(Problem.MALFORMED) from None
    return Claim(match["code"], int(match["list"]), match["reference"], match["locality"], issued)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _unb32(text: str) -> bytes:
    """Strict: the one spelling of the bytes (unused trailing bits must be zero)."""
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InvalidVoucher(Problem.MALFORMED) from None
    if _b32(data) != text:
        raise InvalidVoucher(Problem.MALFORMED)
    return data
