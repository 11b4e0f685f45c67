"""Check audit checkpoints offline with nothing but the published public key.

    python -m core.audit_checkpoint_check --public-key 1766-audit.pem CHECKPOINTS

For an inspector who keeps the checkpoints the service published: prints each genuine one
(position, hash, time) and exits 0, or names each line that is not genuine and exits 1 (2 when
the key file cannot be read). No store, no service, no network, no audit key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from core.audit_checkpoints import CheckpointRefused, parse_line


def check_lines(lines: Sequence[str], public_key: Ed25519PublicKey) -> tuple[list[str], bool]:
    """One line of report per checkpoint line; whether every one was genuine."""
    report, genuine = [], True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            checkpoint = parse_line(line, public_key)
        except CheckpointRefused as refused:
            report.append(f"line {number}: INVALID: {refused}")
            genuine = False
            continue
        when = f"{checkpoint.at:%Y-%m-%d %H:%M:%S} UTC"
        report.append(f"line {number}: genuine: event {checkpoint.seq} {checkpoint.hash} {when}")
    return report, genuine and bool(report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.audit_checkpoint_check",
        description="Check 1766 audit checkpoints with the published public key.",
    )
    parser.add_argument("--public-key", required=True, type=Path, help="the PEM public key file")
    parser.add_argument("checkpoints", type=Path, help="a file of checkpoint lines")
    args = parser.parse_args(argv)
    try:
        public_key = load_pem_public_key(args.public_key.read_bytes())
        lines = args.checkpoints.read_text(errors="replace").splitlines()
    except (OSError, ValueError) as problem:
        print(f"cannot read the files: {problem}", file=sys.stderr)
        return 2
    if not isinstance(public_key, Ed25519PublicKey):
        print("cannot read the files: the public key is not an Ed25519 key", file=sys.stderr)
        return 2
    report, genuine = check_lines(lines, public_key)
    print("\n".join(report or ["no checkpoint in the file"]))
    return 0 if genuine else 1


if __name__ == "__main__":
    sys.exit(main())
