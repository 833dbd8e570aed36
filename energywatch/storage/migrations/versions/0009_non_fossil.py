"""Non-fossil electricity: points.non_fossil, `own_renewable` or `green_certificate` on a
level-1 electricity consumption point (docs/computation.md, "Non-fossil electricity"). NULL on
every existing point: its electricity is not reported as non-fossil; its place in the site
total does not change.

Revision ID: 0009_non_fossil
Revises: 0008_conversions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_non_fossil"
down_revision: str | Sequence[str] | None = "0008_conversions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# energywatch/storage/balance.py NON_FOSSIL_CHECK_SQL as of this revision (a test compares them)
NON_FOSSIL_CHECK_SQL = (
    "non_fossil IS NULL OR (non_fossil IN ('own_renewable', 'green_certificate')"
    " AND measure = 'electricity' AND role = 'consumption' AND metering_level = 1)"
)


def upgrade() -> None:
    op.add_column("points", sa.Column("non_fossil", sa.Text(), nullable=True))
    op.create_check_constraint("ck_points_non_fossil", "points", NON_FOSSIL_CHECK_SQL)


def downgrade() -> None:
    op.drop_constraint("ck_points_non_fossil", "points", type_="check")
    op.drop_column("points", "non_fossil")
