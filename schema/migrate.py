"""Applying and checking migrations from code (the CLI and the tests use the same path)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def revisions() -> list[str]:
    """Every schema revision these migrations know, the newest first (a backup made at one
    of them can be restored by this version of the service)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [migration.revision for migration in script.walk_revisions()]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store to `revision` on one connection, in one transaction where possible."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (alembic's `check`)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)


def revision(engine: Engine, message: str) -> None:
    """Write a new migration from the difference between models and store (developers)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
