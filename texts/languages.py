"""The languages 1766 speaks, each by its own name: how a page or a caller is offered them."""

from __future__ import annotations

NAMES = {"ar": "العربية", "en": "English", "fr": "Français"}
