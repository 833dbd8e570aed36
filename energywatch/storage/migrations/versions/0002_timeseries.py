"""Time-series features: hypertables, compression, retention and the hourly continuous
aggregate on TimescaleDB; the same views on plain PostgreSQL.

Revision ID: 0002_timeseries
Revises: 0001_foundation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from energywatch.storage.timescale import (
    CALENDAR_VIEWS,
    decide,
    is_continuous_aggregate,
    plain_statements,
    timescale_statements,
)

revision: str = "0002_timeseries"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    attrs = context.config.attributes
    conn = op.get_bind()
    if decide(conn, attrs.get("use_timescaledb")):
        statements = timescale_statements(
            attrs.get("compress_after_days", 7), attrs.get("retain_days")
        )
    else:
        statements = plain_statements()
    for statement in [*statements, *CALENDAR_VIEWS]:
        conn.execute(sa.text(statement))


def downgrade() -> None:
    conn = op.get_bind()
    for view in ("consumption_monthly", "consumption_daily"):
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {view}"))
    kind = "MATERIALIZED VIEW" if is_continuous_aggregate(conn, "consumption_hourly") else "VIEW"
    conn.execute(sa.text(f"DROP {kind} IF EXISTS consumption_hourly"))
