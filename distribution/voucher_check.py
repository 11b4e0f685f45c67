"""Check a voucher offline with nothing but the published public key.

    python -m distribution.voucher_check --public-key 1766-vouchers.pem TOKEN

Prints the voucher's claim and exits 0, or prints `INVALID: <reason>` and exits 1 (2 when the
key file itself cannot be read). Needs only this module, `distribution.vouchers` and the
`cryptography` library: no store, no service, no network.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from core.ed25519_keys import InvalidKey, load_public_key
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
    parser.add_argument("token", help="the voucher's token (the text of its QR code)")
    args = parser.parse_args(argv)
    try:
        public_key = load_public_key(args.public_key.read_bytes())
    except (OSError, InvalidKey) as problem:
        print(f"cannot read the public key: {problem}", file=sys.stderr)
        return 2
    try:
        claim = verify(args.token.strip(), public_key)
    except InvalidVoucher as invalid:
        print(f"INVALID: {REASONS[invalid.problem]}")
        return 1
    print(describe(claim))
    return 0


if __name__ == "__main__":
    sys.exit(main())
