"""The application's own PostgreSQL role: it owns nothing and may only append to the audit trail.

The table owner (who runs the migrations) can drop the append-only triggers; a role that owns
nothing cannot, nor can it be granted TRUNCATE, UPDATE or DELETE on `audit_events` by this
module. Web processes, workers and the Procfile's loops run as that role; `db upgrade` and
`audit rekey` run as the owner. What the role gets, exactly:

- USAGE on the schema, and USAGE and SELECT on its sequences (new rows' ids);
- `audit_events`: SELECT and INSERT only;
- `alembic_version`: SELECT only (the schema is the owner's business);
- every other table of the service: SELECT, INSERT, UPDATE and DELETE (no TRUNCATE,
  REFERENCES or TRIGGER). `audit_head` is among them: an append moves the head row.

Grants name existing tables, so run it again after every `db upgrade` (it is idempotent).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from core.db import Base

AUDIT_TABLE = "audit_events"
SCHEMA_TABLE = "alembic_version"
_ROW_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


class RoleRefused(ValueError):
    """The role cannot be given the application's rights; the message says why."""


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Give `role` what the service needs and no more, in one transaction; the statements run."""
    if engine.dialect.name != "postgresql":
        raise RoleRefused("database roles exist on PostgreSQL only")
    with engine.begin() as connection:
        _check_role(connection, role)
        statements = _statements(connection, engine.dialect.identifier_preparer.quote(role))
        for statement in statements:
            connection.execute(text(statement))
    return statements


def check_app_role(engine: Engine, role: str) -> None:
    """Raise `RoleRefused` if `role` could not be the application's role (before a restore)."""
    if engine.dialect.name != "postgresql":
        raise RoleRefused("database roles exist on PostgreSQL only")
    with engine.connect() as connection:
        _check_role(connection, role)


def _check_role(connection: Connection, role: str) -> None:
    found = connection.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    if found is None:
        raise RoleRefused(f"role {role!r} does not exist (CREATE ROLE … LOGIN first)")
    if found.rolsuper:
        raise RoleRefused(f"role {role!r} is a superuser: it could rewrite the audit trail")
    owns = connection.scalar(
        text(
            "SELECT count(*) FROM pg_class JOIN pg_roles ON relowner = pg_roles.oid "
            "WHERE rolname = :r"
        ),
        {"r": role},
    )
    if owns:
        raise RoleRefused(f"role {role!r} owns tables: the application's role must own nothing")


def _statements(connection: Connection, role: str) -> list[str]:
    present = set(
        connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    )
    tables = sorted(name for name in Base.metadata.tables if name in present)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for name in tables:
        rights = "SELECT, INSERT" if name == AUDIT_TABLE else _ROW_RIGHTS
        statements.append(f'GRANT {rights} ON TABLE "{name}" TO {role}')
    if SCHEMA_TABLE in present:
        statements.append(f'GRANT SELECT ON TABLE "{SCHEMA_TABLE}" TO {role}')
    return statements
