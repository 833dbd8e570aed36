"""consumption_daily becomes a table kept by the rollup (energywatch/storage/daily.py).

Revision ID: 0003_daily_table
Revises: 0002_timeseries
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from energywatch.storage.daily import REPLACE_VIEWS
from energywatch.storage.timescale import CALENDAR_VIEWS

revision: str = "0003_daily_table"
down_revision: str | Sequence[str] | None = "0002_timeseries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    for statement in REPLACE_VIEWS:
        conn.execute(sa.text(statement))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DROP VIEW consumption_monthly"))
    conn.execute(sa.text("DROP TABLE consumption_daily"))
    for statement in CALENDAR_VIEWS:  # the views of 0002_timeseries
        conn.execute(sa.text(statement))
