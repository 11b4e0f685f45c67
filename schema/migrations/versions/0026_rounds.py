"""Several rounds of the programme: no change to the schema.

Every record that belongs to a round already names it (`applications`, `links`, `family_keys`,
`beneficiary_lists` carry `programme_id`, indexed, and a family's keys are unique per round),
so picking a round is a condition on columns that exist. The dashboard adds that condition only
when the store holds more than one round (core/rounds.py, `narrowing`): a deployment's single
round keeps its index-only counts, and a second round's counts read the rows of the index on
`programme_id`. An index per round and area was weighed and left out: it would double the
dashboard's six partial indexes for a case that arises once a year.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 17:30:00
"""

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change (see above)."""


def downgrade() -> None:
    """Nothing to undo."""
