"""Canonical JSON and its digest: the same inputs always give the same bytes and the same hash.

A score is stored beside the digest of what it was computed from (the application's pages,
the date and the region) and of the formula, so anyone can check later that a list was
produced from exactly those inputs by exactly that formula.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def _plain(value: object) -> object:
    """Mappings that are not dicts (read-only views of stored pages) serialise as objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def canonical_json(obj: object) -> str:
    """Sorted keys, no spaces, UTF-8 text kept as is; NaN and infinities are refused."""
    return json.dumps(
        obj,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_plain,
    )


def digest(obj: object) -> str:
    """The SHA-256 (hex) of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
