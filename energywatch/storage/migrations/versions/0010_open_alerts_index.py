"""An index of the open alerts (pending or firing) by site: the regulator's ranking counts each
enterprise's open alerts and the live view lists a site's newest ones. Through the index of all
alerts by site both also read every resolved and cancelled alert of the site, which pile up for
years; a partial index holds only the open ones, with the state and severity the ranking counts
by, so neither reads a closed alert (docs/api.md, Performance).

The alerts table is the alerting branch's: this revision follows both 0009_non_fossil and
alerting_0003_inbox (a merge of the two).

Revision ID: 0010_open_alerts_index
Revises: 0009_non_fossil, alerting_0003_inbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_open_alerts_index"
down_revision: str | Sequence[str] | None = ("0009_non_fossil", "alerting_0003_inbox")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# energywatch/storage/alerting_tables.py OPEN_STATES as of this revision
OPEN = "state IN ('pending', 'firing')"


def upgrade() -> None:
    op.create_index(
        "ix_alerts_open_site",
        "alerts",
        ["site_id", "started_at"],
        postgresql_include=["state", "severity"],
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_open_site", table_name="alerts")
