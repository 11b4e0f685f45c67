"""What a backup of the store is, and the checks around restoring one.

A backup is one file holding the whole store: PostgreSQL's as a pg_dump archive in the custom
format (the tools live with the CLI, `cli/pg_tools.py`), the embedded SQLite store's as an
SQLite database file copied by SQLite's online backup (consistent while the service writes).
It holds everything personal, so it is written readable by its owner only, and whole or not
at all (a temporary file renamed into place).

A restore goes into an empty store only (nothing is merged or overwritten), from a backup whose
schema revision this version of the service knows; afterwards the restored store is read back
(its revision, every table's rows) before anyone relies on it.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Collection, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, column, func, inspect, select, table
from sqlalchemy.engine import make_url

SCHEMA_TABLE = "alembic_version"
POSTGRES_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupFormat(StrEnum):
    POSTGRESQL = "postgresql"  # pg_dump --format=custom, restored with pg_restore
    SQLITE = "sqlite"  # an SQLite database file, restored with SQLite's backup API


class BackupRefused(ValueError):
    """The backup cannot be taken or restored; the message says why, and nothing was written."""


@dataclass(frozen=True)
class Restored:
    """What the restored store was read back as."""

    revision: str
    rows: dict[str, int]  # table → rows

    def count(self, table: str) -> int:
        return self.rows.get(table, 0)


def store_format(database_url: str) -> BackupFormat:
    """The kind of backup a store at `database_url` makes and takes."""
    dialect = make_url(database_url).get_backend_name()
    if dialect == "sqlite":
        return BackupFormat.SQLITE
    if dialect == "postgresql":
        return BackupFormat.POSTGRESQL
    raise BackupRefused(f"backups are made of SQLite and PostgreSQL stores, not {dialect}")


def detect_format(path: Path) -> BackupFormat:
    """The format of the file at `path`, from its first bytes; anything else is refused."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as problem:
        raise BackupRefused(f"{path} cannot be read: {problem.strerror}") from None
    if head.startswith(POSTGRES_MAGIC):
        return BackupFormat.POSTGRESQL
    if head == SQLITE_MAGIC:
        return BackupFormat.SQLITE
    if not head:
        raise BackupRefused(f"{path} is empty: not a backup")
    raise BackupRefused(
        f"{path} is not a backup of this service "
        "(neither a pg_dump custom-format archive nor an SQLite database)"
    )


def check_target(backup: BackupFormat, database_url: str) -> None:
    """A backup goes back into the same kind of store it came from."""
    target = store_format(database_url)
    if target is not backup:
        raise BackupRefused(
            f"this is a {backup} backup and DATABASE_URL points at a {target} store: "
            "restore it into a store of its own kind"
        )


def check_empty(engine: Engine) -> None:
    """Refuse a store that holds any table: a restore never merges into or replaces data."""
    tables = inspect(engine).get_table_names()
    if tables:
        raise BackupRefused(
            f"the target store is not empty ({len(tables)} tables, e.g. {sorted(tables)[0]}): "
            "restore into a new, empty database; nothing was written"
        )


def check_revision(revision: str | None, known: Collection[str]) -> str:
    """The backup's schema revision, if this version of the service knows it."""
    if revision is None:
        raise BackupRefused("the file holds no schema revision: not a backup of this service")
    if revision not in known:
        raise BackupRefused(
            f"the backup's schema revision {revision} is unknown to this version of the "
            "service (a later one made it): restore it with that version"
        )
    return revision


@contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """A temporary file (mode 600) beside `out`, linked into place whole when the block ends
    without error and removed otherwise; an existing `out` is never replaced."""
    if out.exists():
        raise BackupRefused(f"{out} exists: a backup never replaces another; choose a new name")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    except OSError as problem:
        raise BackupRefused(f"cannot write in {out.parent}: {problem.strerror}") from None
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        _sync(partial)
        os.link(partial, out)  # fails rather than replace a file that appeared meanwhile
    except FileExistsError:
        raise BackupRefused(f"{out} appeared meanwhile: nothing was replaced") from None
    finally:
        partial.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def sqlite_path(database_url: str) -> Path:
    """The file of an SQLite store; an in-memory one has nothing to back up or restore."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupRefused("the store is in memory: there is no file to back up or restore")
    return Path(database)


def sqlite_backup(database_url: str, partial: Path) -> None:
    """Copy the live SQLite store into `partial` in one step (a consistent snapshot; in WAL
    mode the service's writers go on meanwhile)."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise BackupRefused(f"the store {source_path} does not exist")
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
    with closing(source), closing(sqlite3.connect(partial)) as copy:
        source.backup(copy)
        # The copy is one self-contained file: no write-ahead log beside it (the service
        # turns WAL on again when it opens the restored store).
        copy.execute("PRAGMA journal_mode = DELETE")


def sqlite_revision(path: Path) -> str | None:
    """The schema revision an SQLite backup holds, after SQLite found the file undamaged."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as backup:
            (verdict,) = backup.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise BackupRefused(f"{path} is damaged: {verdict}")
            if not backup.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_TABLE,)
            ).fetchone():
                return None
            found = backup.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as problem:
        raise BackupRefused(f"{path} is damaged or truncated: {problem}") from None
    return str(found[0]) if found else None


def sqlite_restore(path: Path, database_url: str) -> None:
    """Copy the backup into the (empty) SQLite store in one transaction: whole or nothing."""
    target_path = sqlite_path(database_url)
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        with closing(source), closing(sqlite3.connect(target_path)) as target:
            source.backup(target)
    except sqlite3.Error as problem:
        raise BackupRefused(f"the restore failed, nothing was kept: {problem}") from None


def read_back(engine: Engine, revision: str) -> Restored:
    """Read the restored store: its revision must be the backup's, and every table readable."""
    with engine.connect() as connection:
        found = connection.scalar(select(column("version_num")).select_from(table(SCHEMA_TABLE)))
        if found != revision:
            raise BackupRefused(
                f"the restored store is at revision {found}, not the backup's {revision}"
            )
        rows = {
            name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in inspect(connection).get_table_names()
        }
    return Restored(revision, rows)
