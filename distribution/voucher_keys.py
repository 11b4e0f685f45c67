"""The voucher signing key: a file the operator provides, or one generated for a laptop.

Production sets VOUCHER_SIGNING_KEY_FILE to a PKCS8 PEM Ed25519 key kept in a secret store
(`flask --app wsgi vouchers keygen --out FILE` makes one); every web process reads the same
file, so every process signs alike. Unset, a key is generated on first use beside the
embedded store (`var/`, mode 0600) and a warning says production must set the setting: a
key generated on one machine would not match another machine's.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.ed25519_keys import generate_private_key, load_private_key, private_key_pem

log = logging.getLogger(__name__)

# Beside the embedded store's default file (`sqlite:///var/intake.sqlite3`).
DEFAULT_KEY_FILE = Path("var") / "voucher-signing-key.pem"


def write_new_key(path: Path) -> Ed25519PrivateKey:
    """A fresh key written to a new file, readable by its owner only; never overwrites."""
    if path.exists():
        raise FileExistsError(str(path))
    key = generate_private_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_key_pem(key))
        # A hard link appears whole and never replaces a file: of two processes racing to
        # create the key, one wins and the other reads the winner's complete file.
        os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return key


def read_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`; raises OSError or `distribution.vouchers.InvalidKey`."""
    return load_private_key(path.read_bytes())


def signing_key(key_file: str | None) -> Ed25519PrivateKey:
    """The key vouchers are signed with (read once per process)."""
    return _signing_key(key_file or None)


@cache
def _signing_key(key_file: str | None) -> Ed25519PrivateKey:
    if key_file:
        return read_key(Path(key_file))
    log.warning(
        "VOUCHER_SIGNING_KEY_FILE is not set: vouchers are signed with %s (generated on first "
        "use); production must set VOUCHER_SIGNING_KEY_FILE",
        DEFAULT_KEY_FILE,
    )
    try:
        return write_new_key(DEFAULT_KEY_FILE)
    except FileExistsError:
        return read_key(DEFAULT_KEY_FILE)
