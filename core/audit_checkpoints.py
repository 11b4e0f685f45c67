"""Signed checkpoints of the audit chain's head, kept outside the store.

A checkpoint is one line of JSON: the head's sequence number and hash, when it was taken and
the signer's key fingerprint, signed with the Ed25519 key derived from the audit key. The
operator ships the lines somewhere the database's owner cannot reach (a log drain, another
machine). Whoever later rewrites the chain, even with the audit key in hand, cannot make the
store hold the checkpointed event at the checkpointed position with the same hash again.

Ed25519 rather than an HMAC: inspectors who receive the checkpoints can check them with the
public key alone (`audit public-key`), and that key lets nobody forge a checkpoint or an event.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from core.audit import AuditEvent, ChainReport, verify_chain
from core.audit_key import AuditKey, fingerprint
from core.db import utcnow

FORMAT = "1766-audit-checkpoint/1"
_FIELDS = ("format", "seq", "hash", "at", "key")


class CheckpointRefused(ValueError):
    """A checkpoint cannot be made, read or trusted; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head as it stood at `at`."""

    seq: int
    hash: str
    at: datetime
    key: str  # the signer's public key fingerprint (SHA-256, hex)

    def claim(self) -> bytes:
        """The canonical bytes the signature covers."""
        fields = {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at.isoformat(timespec="microseconds"),
            "key": self.key,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


def take(session: Session, key: AuditKey) -> str:
    """A signed checkpoint line of the current head, made only once the chain verifies."""
    report = verify_chain(session, key)
    if not report.ok:
        raise CheckpointRefused(
            f"the chain is broken at event {report.broken_seq} ({report.reason}): "
            "no checkpoint is signed for it"
        )
    newest = session.get(AuditEvent, report.checked) if report.checked else None
    head_hash = newest.hash if newest is not None else "0" * 64
    checkpoint = Checkpoint(report.checked, head_hash, utcnow(), fingerprint(key.public_key))
    return _line(checkpoint, key)


def _line(checkpoint: Checkpoint, key: AuditKey) -> str:
    signature = key.signing_key.sign(checkpoint.claim())
    document = json.loads(checkpoint.claim())
    document["signature"] = base64.b64encode(signature).decode("ascii")
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def parse_line(line: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """A checkpoint from one line (text before its first `{`, such as a log prefix, is ignored)."""
    start = line.find("{")
    try:
        document = json.loads(line[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointRefused("not a checkpoint")
    checkpoint = _checkpoint(document)
    if checkpoint.key != fingerprint(public_key):
        raise CheckpointRefused(f"signed by another key ({checkpoint.key[:16]}…)")
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        public_key.verify(signature, checkpoint.claim())
    except (InvalidSignature, binascii.Error, ValueError):
        raise CheckpointRefused("its signature does not verify (altered or forged)") from None
    return checkpoint


def _checkpoint(document: dict[str, object]) -> Checkpoint:
    seq, head, at, key = (document.get(name) for name in _FIELDS[1:])
    if set(document) != {*_FIELDS, "signature"} or not isinstance(seq, int) or seq < 0:
        raise CheckpointRefused("not a checkpoint (unexpected fields)")
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        raise CheckpointRefused("not a checkpoint (bad time)") from None
    return Checkpoint(seq, str(head), moment, str(key))


def verify_against(
    session: Session, checkpoints: Iterable[Checkpoint], key: AuditKey
) -> ChainReport:
    """The chain checked by itself, then against every checkpoint, oldest position first.

    When the store departs from a checkpoint, the change lies after the last checkpoint it
    still matches and at or before the one it does not: the report names that first event.
    """
    report = verify_chain(session, key)
    if not report.ok:
        return report
    matched = 0
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        if checkpoint.seq == 0:
            continue
        event = session.get(AuditEvent, checkpoint.seq)
        if event is None or event.hash != checkpoint.hash:
            return ChainReport(report.checked, matched + 1, _departure(checkpoint, matched, event))
        matched = checkpoint.seq
    return report


def _departure(checkpoint: Checkpoint, matched: int, event: AuditEvent | None) -> str:
    when = f"{checkpoint.at:%Y-%m-%d %H:%M:%S} UTC"
    found = "is missing" if event is None else "is not the event it signed"
    since = f"after event {matched}, which matches" if matched else "from the first event"
    return (
        f"the chain departs from the checkpoint of {when} {since}: its event "
        f"{checkpoint.seq} {found}, so an event from {matched + 1} to {checkpoint.seq} was "
        "changed, removed or inserted"
    )
