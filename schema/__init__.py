"""The store's schema: every package's tables collected for Alembic, and the migrations.

Each package declares its own tables (`core`, `scoring`, `distribution`); this package sits
above them and imports them all, so `core` never imports upward to make Alembic see a table.
"""
