"""Transformation flows: points.balance_sign counts energy charged to a conversion (+1) and the
energy products it yields (-1) at level 1 (energywatch/storage/balance.py).

PostgreSQL 16 cannot change a generated column's expression in place, so the column is dropped
and added again with the new rule; no view or index depends on it.

Revision ID: 0006_transformation_flows
Revises: 0005_energy_balance
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_transformation_flows"
down_revision: str | Sequence[str] | None = "0005_energy_balance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as they were when this revision was written; balance.py holds the live rule.
_BEFORE = (
    "CASE WHEN metering_level = 1 AND role IN ('consumption', 'feedstock') THEN 1"
    " WHEN metering_level = 1 AND role = 'export' THEN -1 ELSE 0 END"
)
_AFTER = (
    "CASE WHEN metering_level = 1"
    " AND role IN ('consumption', 'feedstock', 'transformation_input') THEN 1"
    " WHEN metering_level = 1 AND role IN ('export', 'transformation_output') THEN -1"
    " ELSE 0 END"
)


def _sign(expression: str) -> None:
    op.execute("ALTER TABLE points DROP COLUMN balance_sign")
    op.execute(
        "ALTER TABLE points ADD COLUMN balance_sign smallint"
        f" GENERATED ALWAYS AS ({expression}) STORED"
    )


def upgrade() -> None:
    _sign(_AFTER)


def downgrade() -> None:
    op.execute(
        "UPDATE points SET role = 'consumption' WHERE role = 'transformation_input';"
        " UPDATE points SET role = 'export'"
        " WHERE role = 'transformation_output' AND metering_level = 1;"
        " UPDATE points SET role = 'recovered' WHERE role = 'transformation_output'"
    )
    _sign(_BEFORE)
