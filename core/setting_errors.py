"""The error every setting reader raises, and the small readers more than one module shares."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"setting {name}: {reason}")
        self.name = name
        self.reason = reason


def small_int(name: str, value: str | None, default: int, maximum: int) -> int:
    """A whole number from 0 to `maximum`; `default` when unset."""
    if not value:
        return default
    if not value.strip().isdigit() or int(value) > maximum:
        raise SettingsError(name, f"{value!r} is not a whole number from 0 to {maximum}")
    return int(value)
