"""Migration alerting_0003_inbox regrades the alerts of the shipped rules that used to call the
benchmark a warning: open ones and resolved ones nobody acknowledged, with a transition each."""

from __future__ import annotations

import sqlalchemy as sa

from energywatch.storage.engine import make_engine
from energywatch.storage.migrate import upgrade

# rule, state, severity, acknowledged -> severity after the migration
CASES = (
    ("intensity.coke_top_charged", "firing", "warning", False, "info"),
    ("intensity.coke_top_charged", "pending", "critical", False, "warning"),
    ("intensity.data_centre_pue", "resolved", "critical", False, "warning"),
    ("intensity.data_centre_pue", "resolved", "critical", True, "critical"),  # read, history
    ("intensity.electrolytic_aluminium", "cancelled", "warning", False, "warning"),
    ("intensity.sinter", "firing", "warning", False, "warning"),  # level2 stays a warning
    ("demand", "firing", "critical", False, "critical"),
)


def test_regrade_of_the_benchmark_alerts(empty_db_url: str) -> None:
    upgrade(empty_db_url, "alerting_0002", seed=False)
    engine = make_engine(empty_db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            ids = [
                conn.execute(
                    sa.text(
                        "INSERT INTO alerts (rule, kind, subject, state, severity,"
                        " notified_severity, started_at, acknowledged_at) VALUES"
                        " (:rule, 'intensity', :subject, :state, :severity, :severity, now(),"
                        " CASE WHEN :acked THEN now() END) RETURNING id"
                    ),
                    {
                        "rule": rule,
                        "subject": f"site:S{i}",
                        "state": state,
                        "severity": severity,
                        "acked": acked,
                    },
                ).scalar_one()
                for i, (rule, state, severity, acked, _) in enumerate(CASES)
            ]
        upgrade(empty_db_url, seed=False)
        with engine.connect() as conn:
            after = {
                r.id: (r.severity, r.notified_severity)
                for r in conn.execute(sa.text("SELECT id, severity, notified_severity FROM alerts"))
            }
            notes: dict[int, str] = dict(
                conn.execute(
                    sa.text(
                        "SELECT alert_id, evidence->>'severity_before' FROM alert_transitions"
                        " WHERE evidence->>'event' = 'regraded'"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert [after[i] for i in ids] == [(c[4], c[4]) for c in CASES]
    assert notes == {ids[0]: "warning", ids[1]: "critical", ids[2]: "critical"}
