"""`backup --out FILE` and `restore FILE`: the whole store into one file and back into an empty
store (README, "Backup and restore")."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cli.common import operator, settings, unit_of_work
from cli.pg_tools import archive_revision, dump, restore, server_major
from core.audit import record
from core.backups import (
    BackupFormat,
    BackupRefused,
    Restored,
    atomic_file,
    check_empty,
    check_revision,
    check_target,
    detect_format,
    read_back,
    sqlite_backup,
    sqlite_restore,
    sqlite_revision,
    store_format,
)
from core.db import make_engine
from core.db_roles import RoleRefused, check_app_role, grant_app_role
from schema import migrate

# What the restore's report names: enough to see at a glance that the programme came back.
SHOWN_TABLES = ("applications", "beneficiary_lists", "vouchers", "audit_events")


@click.command("backup")
@with_appcontext
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (it must not exist); readable by its owner only.",
)
def backup_command(out: Path) -> None:
    """Copy the whole store into one file while the service runs: PostgreSQL through pg_dump's
    custom format, SQLite through its online backup. It holds everything personal: keep it
    as you keep the store."""
    url = settings().database_url
    engine = make_engine(url)
    try:
        kind = store_format(url)
        with atomic_file(out) as partial:
            _copy_store(kind, engine, partial)
            revision = _revision_of(kind, partial, engine)
    except BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the store could not be reached: {exc.orig or exc}") from None
    finally:
        engine.dispose()
    with unit_of_work() as session:
        record(session, operator(), "store.backed_up", details={"format": str(kind)})
    click.echo(f"backup written to {out}: {kind} store at schema revision {revision}")
    click.echo(f"{out.stat().st_size} bytes, readable by its owner only")


def _copy_store(kind: BackupFormat, engine: Engine, partial: Path) -> None:
    if kind is BackupFormat.POSTGRESQL:
        dump(engine, partial)
    else:
        sqlite_backup(engine.url.render_as_string(hide_password=False), partial)


def _revision_of(kind: BackupFormat, path: Path, engine: Engine) -> str:
    """The backup's schema revision, read from the file itself: it must be one known here."""
    if kind is BackupFormat.POSTGRESQL:
        found = archive_revision(path, server_major(engine))
    else:
        found = sqlite_revision(path)
    return check_revision(found, migrate.revisions())


@click.command("restore")
@with_appcontext
@click.argument("backup", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--app-role",
    default=None,
    help="PostgreSQL: give this role the service's rights afterwards (see `db grant-app-role`).",
)
def restore_command(backup: Path, app_role: str | None) -> None:
    """Restore a backup into the empty store of DATABASE_URL (a new database, or a new SQLite
    file), then read it back. A store that holds anything is refused, and nothing is written."""
    url = settings().database_url
    engine = make_engine(url)
    try:
        restored = _restore(engine, backup, app_role)
    except (BackupRefused, RoleRefused) as refused:
        raise click.ClickException(str(refused)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the store could not be reached: {exc.orig or exc}") from None
    finally:
        engine.dispose()
    current = restored.revision == migrate.revisions()[0]
    if current:  # an older schema may lack what the audit trail writes today
        with unit_of_work() as session:
            record(session, operator(), "store.restored", details={"revision": restored.revision})
    _report(restored, current)


def _restore(engine: Engine, backup: Path, app_role: str | None) -> Restored:
    url = engine.url.render_as_string(hide_password=False)
    kind = detect_format(backup)
    check_target(kind, url)
    if app_role and kind is not BackupFormat.POSTGRESQL:
        raise BackupRefused("--app-role is for PostgreSQL: SQLite has no roles")
    if app_role:
        check_app_role(engine, app_role)
    revision = _revision_of(kind, backup, engine)  # the file first: a bad one touches nothing
    check_empty(engine)
    if kind is BackupFormat.POSTGRESQL:
        restore(engine, backup)
    else:
        sqlite_restore(backup, url)
    if app_role:
        for statement in grant_app_role(engine, app_role):
            click.echo(statement)
    return read_back(engine, revision)


def _report(restored: Restored, current: bool) -> None:
    counts = ", ".join(f"{restored.count(name)} {name}" for name in SHOWN_TABLES)
    click.echo(f"restored at schema revision {restored.revision}: {counts}")
    if not current:
        click.echo("the backup predates this version: run `flask --app wsgi db upgrade` now")
    click.echo("now check it: `flask --app wsgi audit verify` and `lists verify` for each list")
