"""Canonical JSON and its digest: the same inputs always give the same bytes and the same hash.

A score is stored beside the digest of what it was computed from (the application's pages,
the date and the region) and of the formula, so anyone can check later that a list was
produced from exactly those inputs by exactly that formula.

The canonical form is the standard library's (`json.dumps` with sorted keys, no spaces, UTF-8
kept as is), the form every stored digest was made with. A national list digests a million
forms, so the bytes are written by orjson when it is certain to write the same ones: it does
for strings, integers, booleans, null, lists and objects; it differs only for floats below
1e-4 (orjson writes 0.00001, the standard library 1e-05) and refuses what the standard
library would also refuse or write differently (NaN, lone surrogates, integers over 64 bits,
keys that are not strings). Any output that could hold such a float falls back to the
standard library, so the bytes never change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

_FAST = orjson.OPT_SORT_KEYS
# orjson spells a float below 1e-4 in full (0.0000…) or with a negative exponent (1e-7): both
# are where the standard library would write another spelling; a string holding them only
# costs the slow path.
_SMALL, _NEGATIVE_EXPONENT = b"0.0000", b"e-"


def _plain(value: object) -> object:
    """Mappings that are not dicts (read-only views of stored pages) serialise as objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _standard(obj: object) -> str:
    return json.dumps(
        obj,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_plain,
    )


def canonical_bytes(obj: object, *, parsed: bool = False) -> bytes:
    """The canonical JSON of `obj`, UTF-8 encoded (NaN and infinities are refused).

    `parsed` says `obj` holds only what `parse` returns and plain strings: no NaN, no
    infinity, no tuple, so the check for them is skipped (the lists' hot loop)."""
    try:
        fast = orjson.dumps(obj, default=_plain, option=_FAST)
    except TypeError:
        return _standard(obj).encode("utf-8")
    if (
        _SMALL in fast
        or _NEGATIVE_EXPONENT in fast
        or (not parsed and b"null" in fast and _lost(obj, fast))
    ):
        return _standard(obj).encode("utf-8")
    return fast


def _lost(obj: object, fast: bytes) -> bool:
    """Whether orjson's bytes do not read back as `obj`: a NaN or an infinity it wrote as null
    (the standard library refuses them), or a tuple, which the standard path writes alike."""
    return bool(orjson.loads(fast) != obj)


def canonical_json(obj: object) -> str:
    """Sorted keys, no spaces, UTF-8 text kept as is; NaN and infinities are refused."""
    return canonical_bytes(obj).decode("utf-8")


def digest(obj: object, *, parsed: bool = False) -> str:
    """The SHA-256 (hex) of the canonical JSON of `obj` (`parsed`: see `canonical_bytes`)."""
    return hashlib.sha256(canonical_bytes(obj, parsed=parsed)).hexdigest()


def parse(text: str | bytes) -> tuple[Any, bool]:
    """Stored JSON read back, and whether orjson read it (then it holds no NaN, no infinity
    and no tuple); what orjson refuses (a NaN, a lone surrogate) the standard library reads."""
    try:
        return orjson.loads(text), True
    except orjson.JSONDecodeError:
        return json.loads(text), False
