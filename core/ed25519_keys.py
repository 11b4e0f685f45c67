"""Ed25519 keys in PEM: the vouchers' signing key and the public key printed beside it.

In `core` because the settings check the key file at start, before anything is served.
"""

from __future__ import annotations

import binascii
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class InvalidKey(ValueError):
    """A key file is not an Ed25519 key in the expected PEM form."""


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An unencrypted PKCS8 PEM Ed25519 private key; raises `InvalidKey`."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidKey("not an unencrypted PKCS8 PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKey("the private key is not an Ed25519 key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """A SubjectPublicKeyInfo PEM Ed25519 public key; raises `InvalidKey`."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidKey("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidKey("the public key is not an Ed25519 key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the public key's DER, in groups of eight: to compare a printed key by eye."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return " ".join(digest[i : i + 8] for i in range(0, len(digest), 8))
