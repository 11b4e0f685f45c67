"""The settings a process starts with: core's checks, then what only the packages above can check.

`Settings.from_env` reads and checks every value `core` understands; the formula file's content
is the scoring package's to judge, so it is checked here, where both are in reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from core.settings import Settings, SettingsError
from scoring.formula import FormulaError, load_formula


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The environment's settings; raise `SettingsError` on the first bad one."""
    settings = Settings.from_env(environ)
    if settings.scoring_formula:
        try:
            load_formula(Path(settings.scoring_formula))
        except FormulaError as problem:  # not JSON, or not a valid formula
            raise SettingsError("SCORING_FORMULA", str(problem)) from None
    return settings
