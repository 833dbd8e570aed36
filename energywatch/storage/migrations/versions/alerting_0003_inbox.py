"""The regulator's inbox: an index for it, and the shipped intensity rules' alerts regraded.

Index: alerts firing, and critical ones resolved but not acknowledged (IN_INBOX in
energywatch/storage/alerting_tables.py). Resolved alerts accumulate for years; the inbox
reads only the few that still need a reader.

Regrade: the shipped rules for coke, electrolytic aluminium, coal power and data centres used
to call the benchmark (level1) a warning and the NDRC baseline (level3) critical; they now call
them info and warning (docs/alerting.md, "Intensity levels and severities"). A severity only
rises while an alert fires, so without this their open alerts, and resolved ones nobody
acknowledged, would keep the old grade. Each regraded alert gets a transition saying so.

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
REGRADED_RULES = (
    "intensity.coke_top_charged",
    "intensity.coke_stamp_charged",
    "intensity.electrolytic_aluminium",
    "intensity.coal_power_supply_coal_rate",
    "intensity.data_centre_pue",
)
DOWN = "CASE {0} WHEN 'warning' THEN 'info' WHEN 'critical' THEN 'warning' ELSE {0} END"
REGRADE = f"""
WITH regraded AS (
    UPDATE alerts
    SET severity = {DOWN.format("severity")},
        notified_severity = {DOWN.format("notified_severity")}
    WHERE rule = ANY(:rules)
      AND severity IN ('warning', 'critical')
      AND (state IN ('pending', 'firing') OR (state = 'resolved' AND acknowledged_at IS NULL))
    RETURNING id, state, severity
)
INSERT INTO alert_transitions (alert_id, at, from_state, to_state, severity, evidence)
SELECT id, now(), state, state, severity,
       jsonb_build_object(
           'event', 'regraded',
           'severity_before', CASE severity WHEN 'info' THEN 'warning' ELSE 'critical' END,
           'reason', 'the benchmark (level1) is an advisory, the baseline (level3) a warning'
       )
FROM regraded
"""


def upgrade() -> None:
    op.create_index(
        "ix_alerts_inbox", "alerts", ["site_id", "started_at"], postgresql_where=sa.text(IN_INBOX)
    )
    op.get_bind().execute(sa.text(REGRADE), {"rules": list(REGRADED_RULES)})


def downgrade() -> None:
    # The regrade stays: the old grades called the benchmark a breach.
    op.drop_index("ix_alerts_inbox", table_name="alerts")
