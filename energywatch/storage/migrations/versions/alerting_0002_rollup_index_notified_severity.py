"""Index consumption_15min.computed_at: the alerting service reads the rollups written since
its previous cycle (services/alerting/rollup_cache.py) instead of re-summing a day of buckets.
And alerts.notified_severity: the severity the last firing notice announced, so that a rise
in severity is notified once.

Revision ID: alerting_0002
Revises: alerting_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0002"
down_revision: str | Sequence[str] | None = "alerting_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_consumption_15min_computed_at", "consumption_15min", ["computed_at"])
    op.add_column("alerts", sa.Column("notified_severity", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("alerts", "notified_severity")
    op.drop_index("ix_consumption_15min_computed_at", table_name="consumption_15min")
