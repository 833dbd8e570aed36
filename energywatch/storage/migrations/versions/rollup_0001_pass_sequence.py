"""Rollup: a sequence numbering the passes, by which a worker sees passes of other processes.

A live rollup worker remembers, between its passes, where each register's counting stood at
recent bucket edges (services/rollup/counter_state.py). A pass run by another process (a rebuild
next to it) may recompute buckets behind that memory's back; every pass draws the next number,
so a worker that finds its numbers no longer consecutive forgets what it remembered.

Revision ID: rollup_0001
Revises: 0002_timeseries
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "rollup_0001"
down_revision: str | Sequence[str] | None = "0002_timeseries"
branch_labels: str | Sequence[str] | None = ("rollup",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE rollup_passes AS bigint")


def downgrade() -> None:
    op.execute("DROP SEQUENCE rollup_passes")
