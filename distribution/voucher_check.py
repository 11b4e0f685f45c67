"""Check a voucher offline with nothing but the published public key.

    python -m distribution.voucher_check --public-key 1766-vouchers.pem [--revoked FILE] TOKEN

Prints the voucher's claim and exits 0, or prints `INVALID: <reason>` and exits 1 (2 when the
key file itself cannot be read). With `--revoked`, the signed list of revoked vouchers
(`/vouchers/revoked`) is checked with the same public key first (exit 2 if it does not verify),
and a voucher on it is refused: `REVOKED: …`, exit 1. Needs only this module,
`distribution.vouchers`, `distribution.revocation_list` and the `cryptography` library: no
store, no service, no network.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.ed25519_keys import InvalidKey, load_public_key
from distribution.revocation_list import BadRevocationList, RevocationList, read_signed
from distribution.vouchers import Claim, InvalidVoucher, verify

REASONS = {
    "malformed": "this is not a voucher (truncated, mistyped or altered)",
    "unknown_version": "this voucher format is not one the 1766 service issues",
    "bad_signature": "the signature does not match: forged or altered",
}


def describe(claim: Claim) -> str:
    """The claim, one field a line, as an officer would read it out."""
    return "\n".join(
        (
            "VALID",
            f"voucher code: {claim.code}",
            f"list: {claim.list_id}",
            f"application reference: {claim.reference}",
            f"municipality (locality code): {claim.locality_code}",
            f"issued on: {claim.issued_on.isoformat()}",
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m distribution.voucher_check",
        description="Check a 1766 voucher's signature with the published public key.",
    )
    parser.add_argument("--public-key", required=True, type=Path, help="the PEM public key file")
    parser.add_argument(
        "--revoked", type=Path, help="the signed list of revoked vouchers (/vouchers/revoked)"
    )
    parser.add_argument("token", help="the voucher's token (the text of its QR code)")
    args = parser.parse_args(argv)
    try:
        public_key = load_public_key(args.public_key.read_bytes())
    except (OSError, InvalidKey) as problem:
        print(f"cannot read the public key: {problem}", file=sys.stderr)
        return 2
    try:
        revoked = _revoked(args.revoked, public_key)
    except (OSError, BadRevocationList) as problem:
        print(f"cannot use the revocation list: {problem}", file=sys.stderr)
        return 2
    try:
        claim = verify(args.token.strip(), public_key)
    except InvalidVoucher as invalid:
        print(f"INVALID: {REASONS[invalid.problem]}")
        return 1
    if revoked is not None and claim.code in revoked.revoked:
        print(refusal(revoked, claim.code))
        return 1
    print(describe(claim))
    if revoked is not None:
        print(f"not on the revocation list published {revoked.published_at:%Y-%m-%d %H:%M} UTC")
    return 0


def _revoked(path: Path | None, public_key: Ed25519PublicKey) -> RevocationList | None:
    if path is None:
        return None
    return read_signed(path.read_bytes().decode("ascii", errors="replace"), public_key)


def refusal(revoked: RevocationList, code: str) -> str:
    """Why a genuine voucher is refused: it is on the signed list of revoked vouchers."""
    entry = revoked.revoked[code]
    return (
        f"REVOKED: voucher {code} was revoked on {entry.revoked_at:%Y-%m-%d %H:%M} UTC "
        f"({entry.reason}); do not hand over aid on it (list published "
        f"{revoked.published_at:%Y-%m-%d %H:%M} UTC)"
    )


if __name__ == "__main__":
    sys.exit(main())
