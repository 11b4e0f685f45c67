"""pg_dump and pg_restore for `backup` and `restore`: the client tools of the server's major
version (or a later one), run with the store's credentials in their environment, never on
their command line (where `ps` would show the password)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from glob import glob
from pathlib import Path

import click
from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

# Debian and Ubuntu keep each major version's tools apart (postgresql-client-N).
VERSIONED_BINARIES = "/usr/lib/postgresql/*/bin"
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


def server_major(engine: Engine) -> int:
    """The server's major version (a pg_dump older than the server refuses to dump it)."""
    with engine.connect() as connection:
        number = int(connection.scalar(text("SHOW server_version_num")) or 0)
    return number // 10000


def tool(name: str, major: int) -> str:
    """The path of `name` (pg_dump, pg_restore) for a server of version `major`."""
    versioned = []
    for directory in glob(VERSIONED_BINARIES):
        version = Path(directory).parent.name
        if version.isdigit() and int(version) >= major and (Path(directory) / name).is_file():
            versioned.append((int(version), str(Path(directory) / name)))
    if versioned:
        return min(versioned)[1]  # the server's own version if present, else the nearest later
    on_path = shutil.which(name)
    if on_path and _major_of(on_path) >= major:
        return on_path
    raise click.ClickException(
        f"{name} for PostgreSQL {major} (or later) is not installed: install the client tools "
        f"(Debian: apt-get install postgresql-client-{major}; bin/services does this)"
    )


def _major_of(binary: str) -> int:
    try:
        shown = subprocess.run(  # noqa: S603 - a PostgreSQL tool found on this machine
            [binary, "--version"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return 0
    found = _VERSION.search(shown.stdout)
    return int(found.group(1)) if found else 0


def _connection(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and an environment carrying it."""
    url = make_url(database_url)
    parts = {
        "host": url.host,
        "port": str(url.port) if url.port else None,
        "user": url.username,
        "dbname": url.database,
        **{key: str(value) for key, value in url.query.items()},
    }
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return make_conninfo(**{k: v for k, v in parts.items() if v is not None}), environment


def _run(arguments: list[str], environment: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - a PostgreSQL tool; no shell, arguments as a list
            arguments, env=environment, capture_output=True, text=True
        )
    except OSError as problem:
        raise click.ClickException(f"{what}: {arguments[0]} cannot run: {problem}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        said = "; ".join(lines[-3:]) or f"exit code {done.returncode}"
        raise click.ClickException(f"{what}: {said}")
    return done.stdout


def dump(engine: Engine, out: Path) -> None:
    """The whole database into `out`, in pg_dump's custom format (one consistent snapshot)."""
    database_url = engine.url.render_as_string(hide_password=False)
    conninfo, environment = _connection(database_url)
    pg_dump = tool("pg_dump", server_major(engine))
    arguments = [pg_dump, "--format=custom", "--file", str(out), "--dbname", conninfo]
    _run(arguments, environment, "pg_dump failed")


def archive_revision(path: Path, major: int) -> str | None:
    """The schema revision the archive holds (its `alembic_version` row), read without
    restoring anything; a file pg_restore cannot read is refused."""
    pg_restore = tool("pg_restore", major)
    arguments = [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(path)]
    listing = _run(arguments, dict(os.environ), f"{path} cannot be read as a pg_dump archive")
    rows = listing.split(" FROM stdin;\n", 1)
    if len(rows) < 2:
        return None
    first = rows[1].split("\n", 1)[0]
    return None if first == "\\." else first.strip()


def restore(engine: Engine, path: Path) -> None:
    """The archive into the (empty) database in one transaction: whole, or nothing at all.

    Objects come to belong to whoever restores (`--no-owner`) and carry no grants
    (`--no-privileges`): the roles of the machine the backup came from may not exist here.
    """
    database_url = engine.url.render_as_string(hide_password=False)
    conninfo, environment = _connection(database_url)
    pg_restore = tool("pg_restore", server_major(engine))
    arguments = [
        pg_restore,
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--dbname",
        conninfo,
        str(path),
    ]
    _run(arguments, environment, "the restore failed, nothing was kept")
