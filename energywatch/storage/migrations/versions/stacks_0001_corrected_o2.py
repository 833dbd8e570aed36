"""Stacks: points.corrected_o2, the reference O2 % a data logger corrected a point's values to
(HJ 212 ZsRtd/ZsAvg). NULL on every existing point: values as measured (docs/stacks.md).

Revision ID: stacks_0001
Revises: 0005_energy_balance
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "stacks_0001"
down_revision: str | Sequence[str] | None = "0005_energy_balance"
branch_labels: str | Sequence[str] | None = ("stacks",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE points ADD COLUMN corrected_o2 double precision")
    op.execute(
        "ALTER TABLE points ADD CONSTRAINT ck_points_corrected_o2"
        " CHECK (corrected_o2 IS NULL OR (corrected_o2 >= 0 AND corrected_o2 < 21))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE points DROP CONSTRAINT ck_points_corrected_o2")
    op.execute("ALTER TABLE points DROP COLUMN corrected_o2")
