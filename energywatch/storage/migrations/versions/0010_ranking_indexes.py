"""Two partial indexes for the regulator's ranking, which reads every enterprise of a region.

- ix_alerts_open_site: the open alerts (pending or firing) by site, with the state and
  severity the ranking counts them by. Through the index of all alerts by site the count also
  read every resolved and cancelled alert of the site, which pile up for years; the live
  view's list of a site's newest open alerts uses it too.
- ix_points_ranked: the points the ranking sums by site (level-1 balance points, outputs,
  meters of a product): 4 of a province enterprise's 100 points, where the index of all
  points by site made it read the 96 sub-meters as well.

docs/api.md, "The ranking at province scale". The alerts table is the alerting branch's:
this revision follows both 0009_non_fossil and alerting_0003_inbox (a merge of the two).

Revision ID: 0010_ranking_indexes
Revises: 0009_non_fossil, alerting_0003_inbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_ranking_indexes"
down_revision: str | Sequence[str] | None = ("0009_non_fossil", "alerting_0003_inbox")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# energywatch/storage/alerting_tables.py OPEN_STATES and tables.py RANKED_POINTS_SQL as of
# this revision (a test compares them)
OPEN = "state IN ('pending', 'firing')"
RANKED_POINTS = "balance_sign <> 0 OR role = 'output' OR product IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_alerts_open_site",
        "alerts",
        ["site_id", "started_at"],
        postgresql_include=["state", "severity"],
        postgresql_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_points_ranked", "points", ["site_id"], postgresql_where=sa.text(RANKED_POINTS)
    )


def downgrade() -> None:
    op.drop_index("ix_points_ranked", table_name="points")
    op.drop_index("ix_alerts_open_site", table_name="alerts")
