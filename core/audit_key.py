"""The audit key: a secret outside the database that the audit chain and its checkpoints hang on.

Whoever holds the database's owner rights can drop the triggers, delete events and re-hash
the rest; with a plain SHA-256 chain `audit verify` would then say "intact". Each event's
hash is therefore an HMAC under a key the database never sees (AUDIT_KEY_FILE, a file of at
least 32 random bytes, from the secret store like the voucher key), and checkpoints of the
chain's head are signed with an Ed25519 key derived from the same secret, so that anyone
holding only the public key can tell a genuine checkpoint from a forged one.

Unset, a key is generated on first use beside the embedded store (`var/audit-key`, mode
0600) with a warning, for a laptop and the tests only: production refuses to start without
the setting (`core.settings`), because every process must chain with the same key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = Path("var") / "audit-key"  # beside the embedded store's default file
MIN_KEY_BYTES = 32
# Separate keys for separate jobs, both derived from the one secret the operator keeps.
_CHAIN_INFO = b"1766 intake audit chain v1"
_CHECKPOINT_INFO = b"1766 intake audit checkpoint v1"


class InvalidAuditKey(ValueError):
    """The key file holds too little to be a key."""


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class AuditKey:
    """The operator's secret and what is derived from it."""

    secret: bytes

    @cached_property
    def chain_key(self) -> bytes:
        """The HMAC key of every event's hash."""
        return _derive(self.secret, _CHAIN_INFO)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key checkpoints are signed with."""
        return Ed25519PrivateKey.from_private_bytes(_derive(self.secret, _CHECKPOINT_INFO))

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def mac(self, payload: bytes) -> str:
        return hmac.new(self.chain_key, payload, hashlib.sha256).hexdigest()


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: what a checkpoint names its signer by."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def parse_key(data: bytes) -> AuditKey:
    """A key from a file's bytes (surrounding whitespace ignored); at least 32 bytes."""
    secret = data.strip()
    if len(secret) < MIN_KEY_BYTES:
        raise InvalidAuditKey(f"holds {len(secret)} bytes; an audit key needs at least 32")
    return AuditKey(secret)


def read_key(path: Path) -> AuditKey:
    """The key in `path`; raises OSError or `InvalidAuditKey`."""
    return parse_key(path.read_bytes())


def write_new_key(path: Path) -> AuditKey:
    """A fresh random key written to a new file, readable by its owner only; never overwrites."""
    if path.exists():
        raise FileExistsError(str(path))
    text = base64.urlsafe_b64encode(secrets.token_bytes(48)).decode("ascii") + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        # A hard link appears whole and never replaces a file: of two processes racing to
        # create the key, one wins and the other reads the winner's complete file.
        os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return parse_key(text.encode("ascii"))


@cache
def load_key(key_file: str | None) -> AuditKey:
    """The key of AUDIT_KEY_FILE, or the generated development key (read once per process)."""
    if key_file:
        return read_key(Path(key_file))
    log.warning(
        "AUDIT_KEY_FILE is not set: the audit chain is keyed with %s (generated on first "
        "use); production must set AUDIT_KEY_FILE",
        DEFAULT_KEY_FILE,
    )
    try:
        return write_new_key(DEFAULT_KEY_FILE)
    except FileExistsError:
        return read_key(DEFAULT_KEY_FILE)


_key_file: str | None = None  # AUDIT_KEY_FILE of this process's settings


def use_key_file(key_file: str | None) -> None:
    """Key this process's audit events with the settings' key (the app factory, the worker).

    Read on first use, like the voucher key: a command that audits nothing never touches it.
    """
    global _key_file
    _key_file = key_file or None


def current_key() -> AuditKey:
    """The key this process chains with: the settings' file, else the generated default."""
    return load_key(_key_file)
