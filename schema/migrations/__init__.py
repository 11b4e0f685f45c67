"""Alembic migrations of the store, applied with `flask --app wsgi db upgrade`."""
