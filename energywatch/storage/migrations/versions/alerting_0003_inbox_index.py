"""Index the regulator's inbox: alerts firing, and critical ones resolved but not acknowledged
(services/api/queries/alerts.py `in_inbox`). Resolved alerts accumulate for years; the inbox
reads only the few that still need a reader.

Revision ID: alerting_0003_inbox
Revises: alerting_0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0003_inbox"
down_revision: str | Sequence[str] | None = "alerting_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_INBOX = (
    "state = 'firing' OR (state = 'resolved' AND severity = 'critical' AND acknowledged_at IS NULL)"
)


def upgrade() -> None:
    op.create_index("ix_alerts_inbox", "alerts", ["started_at"], postgresql_where=sa.text(IN_INBOX))


def downgrade() -> None:
    op.drop_index("ix_alerts_inbox", table_name="alerts")
