"""What to tell whom: firing notices, reminders, escalations and resolutions, written to the
outbox in the same transaction as the alert change that caused them.

Each outbox row carries an idempotency key made of the alert id, the event and the target;
the unique key makes a second enqueue of the same notice a no-op, and receivers get the key
(webhook header, e-mail Message-ID) so that they can drop a repeated delivery too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from services.alerting.rules import Recipient, Rule

OUTBOX_CHANNEL = "ew_alert_outbox"  # NOTIFY channel the delivery worker listens on


@dataclass
class OpenAlert:
    id: int
    rule: str
    kind: str
    subject: str
    site_id: int | None
    point_id: int | None
    state: str
    severity: str
    value: float | None
    threshold: float | None
    unit: str
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    last_notified_at: datetime | None
    notified_severity: str | None
    notify_count: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    silenced_by: int | None


ALERT_COLUMNS = (
    "id, rule, kind, subject, site_id, point_id, state, severity, value, threshold, unit, "
    "started_at, fired_at, resolved_at, last_notified_at, notified_severity, notify_count, "
    "acknowledged_by, acknowledged_at, escalated_at, silenced_by"
)


@dataclass(frozen=True)
class Contacts:
    operators: dict[int, list[tuple[str, str]]]  # site_id -> [(channel, target)]
    regulators: list[tuple[str, str, str]]  # (division prefix, channel, target)

    @classmethod
    def load(cls, conn: psycopg.Connection) -> Contacts:
        operators: dict[int, list[tuple[str, str]]] = {}
        regulators: list[tuple[str, str, str]] = []
        for role, site_id, prefix, channel, target in conn.execute(
            "SELECT role, site_id, division_prefix, channel, target FROM alert_contacts ORDER BY id"
        ):
            if role == "operator":
                operators.setdefault(site_id, []).append((channel, target))
            else:
                regulators.append((prefix, channel, target))
        return cls(operators, regulators)


def targets(
    recipients: tuple[Recipient, ...],
    site_id: int | None,
    division_code: str | None,
    contacts: Contacts,
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for r in recipients:
        if r.webhook:
            out.append(("webhook", r.webhook))
        elif r.email:
            out.append(("email", r.email))
        elif r.contacts == "operator" and site_id is not None:
            out.extend(contacts.operators.get(site_id, []))
        elif r.contacts == "regulator" and division_code:
            out.extend(
                (c, t) for prefix, c, t in contacts.regulators if division_code.startswith(prefix)
            )
    return list(dict.fromkeys(out))  # each target once, in order


def payload(
    alert: OpenAlert,
    rule: Rule | None,
    event: str,
    site_code: str | None,
    division_code: str | None,
    key: str,
) -> dict[str, Any]:
    def iso(ts: datetime | None) -> str | None:
        return ts.isoformat() if ts else None

    return {
        "idempotency_key": key,
        "event": event,
        "alert_id": alert.id,
        "rule": alert.rule,
        "kind": alert.kind,
        "subject": alert.subject,
        "site": site_code,
        "division_code": division_code,
        "state": alert.state,
        "severity": alert.severity,
        "value": alert.value,
        "threshold": alert.threshold,
        "unit": alert.unit,
        "window_s": rule.window.total_seconds() if rule else None,
        "source": rule.source if rule else "",
        "description": rule.description if rule else "",
        "started_at": iso(alert.started_at),
        "fired_at": iso(alert.fired_at),
        "resolved_at": iso(alert.resolved_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": iso(alert.acknowledged_at),
    }


def enqueue(
    conn: psycopg.Connection,
    alert: OpenAlert,
    rule: Rule | None,
    event: str,
    event_key: str,
    to: list[tuple[str, str]],
    site_code: str | None,
    division_code: str | None,
) -> int:
    """Write one outbox row per target; returns how many were new."""
    written = 0
    for channel, target in to:
        key = f"alert:{alert.id}:{event_key}:{channel}:{target}"
        body = payload(alert, rule, event, site_code, division_code, key)
        cur = conn.execute(
            "INSERT INTO notification_outbox (idempotency_key, alert_id, event, channel, target, "
            "payload) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING",
            (key, alert.id, event, channel, target, json.dumps(body)),
        )
        written += cur.rowcount
    if written:
        conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    return written
