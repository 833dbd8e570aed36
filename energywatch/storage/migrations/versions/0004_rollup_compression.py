"""TimescaleDB: a compression policy for consumption_15min; nothing on plain PostgreSQL.

Revision ID: 0004_rollup_compression
Revises: 0003_daily_table
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from energywatch.storage.timescale import is_hypertable, rollup_compression_statements

revision: str = "0004_rollup_compression"
down_revision: str | Sequence[str] | None = "0003_daily_table"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    if not is_hypertable(conn, "consumption_15min"):
        return
    days = context.config.attributes.get("compress_rollups_after_days", 90)
    for statement in rollup_compression_statements(days):
        conn.execute(sa.text(statement))


def downgrade() -> None:
    conn = op.get_bind()
    if not is_hypertable(conn, "consumption_15min"):
        return
    conn.execute(
        sa.text("SELECT remove_compression_policy('consumption_15min', if_exists => true)")
    )
    conn.execute(
        sa.text(
            "SELECT decompress_chunk(c, if_compressed => true)"
            " FROM show_chunks('consumption_15min') AS c"
        )
    )
    conn.execute(sa.text("ALTER TABLE consumption_15min SET (timescaledb.compress = false)"))
