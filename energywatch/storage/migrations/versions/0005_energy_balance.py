"""Energy balance: points.balance_sign, how a point enters the site's comprehensive consumption.

Level-1 consumption and feedstock +1, level-1 export -1, anything else 0
(energywatch/storage/balance.py). A generated column, so that every query sums
`value * balance_sign` and no query can forget the metering level.

Revision ID: 0005_energy_balance
Revises: 0004_rollup_compression
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_energy_balance"
down_revision: str | Sequence[str] | None = "0004_rollup_compression"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as it was when this revision was written; balance.py holds the live rule and a
# test checks the database's column against it.
_SIGN = (
    "CASE WHEN metering_level = 1 AND role IN ('consumption', 'feedstock') THEN 1"
    " WHEN metering_level = 1 AND role = 'export' THEN -1 ELSE 0 END"
)


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE points ADD COLUMN balance_sign smallint GENERATED ALWAYS AS ({_SIGN}) STORED"
    )
    op.execute(
        "ALTER TABLE points ADD CONSTRAINT ck_points_export_level_1"
        " CHECK (role <> 'export' OR metering_level = 1)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE points DROP CONSTRAINT ck_points_export_level_1")
    op.execute("ALTER TABLE points DROP COLUMN balance_sign")
