"""What people do to alerts, callable by the API on its own SQLAlchemy connection:
acknowledge an alert, create or end a silence (or maintenance window), and store a rule.

Each function writes inside the caller's transaction and records the act as a transition
with the user, so the alert's history shows who did what and when.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa

from services.alerting.rules import Rule, parse_rule
from services.alerting.silences import check_matchers
from services.alerting.webhooks import WebhookPolicy


class AlertNotFound(LookupError):
    pass


def acknowledge(conn: sa.Connection, alert_id: int, user: str, comment: str = "") -> bool:
    """Acknowledge an open alert: stops reminders and escalation. False if it was already
    acknowledged; AlertNotFound if there is no open alert with that id."""
    row = conn.execute(
        sa.text("SELECT state, severity, acknowledged_at FROM alerts WHERE id = :id FOR UPDATE"),
        {"id": alert_id},
    ).fetchone()
    if row is None or row.state not in ("pending", "firing"):
        raise AlertNotFound(f"no open alert {alert_id}")
    if row.acknowledged_at is not None:
        return False
    conn.execute(
        sa.text(
            "UPDATE alerts SET acknowledged_by = :user, acknowledged_at = now(), "
            "ack_comment = :comment WHERE id = :id"
        ),
        {"user": user, "comment": comment, "id": alert_id},
    )
    conn.execute(
        sa.text(
            "INSERT INTO alert_transitions (alert_id, at, from_state, to_state, severity, "
            "evidence) VALUES (:id, now(), :state, 'acknowledged', :severity, "
            "CAST(:evidence AS jsonb))"
        ),
        {
            "id": alert_id,
            "state": row.state,
            "severity": row.severity,
            "evidence": json.dumps({"user": user, "comment": comment}),
        },
    )
    return True


def silence(
    conn: sa.Connection,
    matchers: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str = "",
    *,
    kind: str = "silence",
    daily_from: time | None = None,
    daily_to: time | None = None,
    timezone: str = "Asia/Shanghai",
) -> int:
    """Create a silence (kind 'silence') or maintenance window (kind 'maintenance', may recur
    daily between two local times). Matchers: rule, kind, site, point ('SITE/POINT'), region
    (division-code prefix), severity. Returns its id."""
    matchers = check_matchers(matchers)
    if kind not in ("silence", "maintenance"):
        raise ValueError("kind: silence or maintenance")
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if (daily_from is None) != (daily_to is None):
        raise ValueError("daily_from and daily_to go together")
    row = conn.execute(
        sa.text(
            "INSERT INTO silences (kind, matchers, starts_at, ends_at, daily_from, daily_to, "
            "timezone, created_by, comment) VALUES (:kind, CAST(:matchers AS jsonb), :s, :e, "
            ":df, :dt, :tz, :by, :comment) RETURNING id"
        ),
        {
            "kind": kind,
            "matchers": json.dumps(matchers),
            "s": starts_at,
            "e": ends_at,
            "df": daily_from,
            "dt": daily_to,
            "tz": timezone,
            "by": created_by,
            "comment": comment,
        },
    ).fetchone()
    assert row is not None
    return int(row[0])


def expire_silence(conn: sa.Connection, silence_id: int) -> bool:
    """End a silence now; False if it had already ended."""
    result = conn.execute(
        sa.text(
            "UPDATE silences SET ends_at = greatest(now(), starts_at + interval '1 ms') "
            "WHERE id = :id AND ends_at > now()"
        ),
        {"id": silence_id},
    )
    return result.rowcount > 0


def save_rule(
    conn: sa.Connection,
    definition: dict[str, Any],
    user: str,
    *,
    enabled: bool = True,
    webhooks: WebhookPolicy | None = None,
) -> Rule:
    """Validate and upsert an API-managed rule (RuleError names the field, or the webhook that
    `webhooks`, by default public addresses only, refuses)."""
    rule = parse_rule(definition, "rule", webhooks or WebhookPolicy())
    conn.execute(
        sa.text(
            "INSERT INTO alert_rules (name, definition, enabled, created_by) "
            "VALUES (:name, CAST(:d AS jsonb), :enabled, :user) "
            "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, "
            "enabled = excluded.enabled, updated_at = now()"
        ),
        {"name": rule.name, "d": json.dumps(rule.definition()), "enabled": enabled, "user": user},
    )
    return rule
