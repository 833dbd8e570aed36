"""Ingest: a log of the buckets each batch touched, folded into dirty_buckets by the rollup.

Revision ID: ingest_0001
Revises: 0002_timeseries
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

revision: str = "ingest_0001"
down_revision: str | Sequence[str] | None = "0002_timeseries"
branch_labels: str | Sequence[str] | None = ("ingest",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dirty_bucket_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("point_ids", ARRAY(sa.Integer), nullable=False),
        sa.Column("buckets", ARRAY(sa.Integer), nullable=False),
        sa.Column(
            "marked_at", TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dirty_bucket_log")),
    )


def downgrade() -> None:
    # Marks still in the log are not lost: they become dirty buckets first.
    op.execute(
        "INSERT INTO dirty_buckets (point_id, bucket, marked_at)"
        " SELECT u.point_id, TIMESTAMPTZ '2000-01-01 00:00+00' + u.k * INTERVAL '15 minutes',"
        " min(l.marked_at) FROM dirty_bucket_log l,"
        " unnest(l.point_ids, l.buckets) AS u(point_id, k)"
        " GROUP BY 1, 2 ON CONFLICT (point_id, bucket) DO UPDATE SET marked_at = now()"
    )
    op.drop_table("dirty_bucket_log")
