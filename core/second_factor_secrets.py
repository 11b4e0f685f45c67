"""What a second factor keeps secret: its TOTP secret sealed at rest, recovery codes hashed.

The TOTP secret must be read again at every sign-in, so it cannot be kept as a hash like a
password. It is sealed with AES-GCM under a key derived from SECRET_KEY (HMAC-SHA256 with a
label of its own, so no other use of SECRET_KEY yields the same key), and the sealing is
bound to the account's id: a copy of the database or of a backup, or a sealed secret moved
onto another account's row, opens nothing. Changing SECRET_KEY makes every sealed secret
unreadable; those accounts then need an admin's reset (`users reset-second-factor`).

Recovery codes are random (50 bits), shown once and kept only as SHA-256 hashes, salted with
the account's id; like a link's token, a code this random needs no slow hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_KEY_LABEL = b"1766 staff second factor\0"
_NONCE_BYTES = 12
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_LENGTH = 10  # shown as two groups of five: about 49 bits
_RECOVERY_TYPED = re.compile(rf"[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}")


class SecretUnreadable(Exception):
    """A sealed secret does not open under this SECRET_KEY (changed key, or tampering)."""


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), _KEY_LABEL, "sha256").digest()


def _bound_to(user_id: int) -> bytes:
    return f"staff_user:{user_id}".encode("ascii")


def seal(secret_key: str, user_id: int, secret: str) -> str:
    """The secret encrypted for this account, as ASCII for a text column."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, secret.encode("ascii"), _bound_to(user_id))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(secret_key: str, user_id: int, sealed: str) -> str:
    """The secret `seal` sealed for this account; raises `SecretUnreadable`."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return AESGCM(_key(secret_key)).decrypt(nonce, body, _bound_to(user_id)).decode("ascii")
    except (InvalidTag, ValueError) as exc:
        raise SecretUnreadable(str(user_id)) from exc


def new_recovery_code() -> str:
    """A fresh recovery code as shown: `abcde-fghjk`."""
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def typed_recovery_code(text: str) -> str | None:
    """The code someone typed, without dashes, spaces or capitals; None if it cannot be one."""
    code = re.sub(r"[\s\-]", "", text).lower()
    return code if _RECOVERY_TYPED.fullmatch(code) else None


def hash_recovery_code(user_id: int, code: str) -> str:
    """The stored form of a recovery code (`code` as `typed_recovery_code` returns it)."""
    return hashlib.sha256(f"{user_id}:{code.replace('-', '')}".encode("ascii")).hexdigest()
