"""Alerts, their transitions and silences as the API shows them, always within a scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from energywatch.storage.alerting_tables import (
    IN_INBOX,
    OPEN_STATES,
    alert_transitions,
    alerts,
)
from energywatch.storage.tables import points, sites
from services.alerting.rules import SEVERITIES
from services.api.principal import Principal
from services.api.scope import site_in_scope

_COLUMNS = (
    alerts.c.id,
    alerts.c.rule,
    alerts.c.kind,
    sites.c.code.label("site"),
    points.c.code.label("point"),
    alerts.c.subject,
    alerts.c.severity,
    alerts.c.state,
    alerts.c.value,
    alerts.c.threshold,
    alerts.c.unit,
    alerts.c.started_at,
    alerts.c.fired_at,
    alerts.c.resolved_at,
    alerts.c.acknowledged_by,
    alerts.c.acknowledged_at,
    alerts.c.ack_comment,
    alerts.c.escalated_at,
    (alerts.c.silenced_by.is_not(None)).label("silenced"),
    # The window the value was computed over: the rule's, as the last evaluation recorded it
    # (the evaluator keeps it on every state transition), ending when the value was computed.
    sa.select(alert_transitions.c.window_s)
    .where(alert_transitions.c.alert_id == alerts.c.id, alert_transitions.c.window_s.is_not(None))
    .order_by(alert_transitions.c.at.desc())
    .limit(1)
    .scalar_subquery()
    .label("window_s"),
    sa.func.coalesce(alerts.c.last_evaluated_at, alerts.c.started_at).label("evaluated_at"),
)
# When an alert last changed in a way a viewer cares about (not each evaluation).
changed_at = sa.func.greatest(
    alerts.c.started_at,
    alerts.c.fired_at,
    alerts.c.resolved_at,
    alerts.c.acknowledged_at,
    alerts.c.escalated_at,
)


def _base(principal: Principal) -> sa.Select[Any]:
    # Inner join on sites: an alert without a site is fleet-wide and shown to admins only.
    query = (
        sa.select(*_COLUMNS)
        .select_from(alerts)
        .join(sites, sites.c.id == alerts.c.site_id, isouter=principal.role == "admin")
        .join(points, points.c.id == alerts.c.point_id, isouter=True)
    )
    return query.where(site_in_scope(principal))


def list_alerts(
    conn: sa.Connection,
    principal: Principal,
    *,
    state: str | None,
    severities: Sequence[str],
    site: str | None,
    rule: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
    """One page of alerts, the number that match, and that number per severity with every
    filter but the severity one (what a severity filter would show)."""
    query = _base(principal)
    if state == "open":
        query = query.where(alerts.c.state.in_(OPEN_STATES))
    elif state == "inbox":
        query = query.where(IN_INBOX)
    elif state:
        query = query.where(alerts.c.state == state)
    if site:
        query = query.where(sites.c.code == site)
    if rule:
        query = query.where(alerts.c.rule == rule)
    if since:
        query = query.where(changed_at >= since)
    by_severity = query.with_only_columns(alerts.c.severity, sa.func.count()).group_by(
        alerts.c.severity
    )
    counts = dict.fromkeys(SEVERITIES, 0) | {
        str(sev): int(n) for sev, n in conn.execute(by_severity).all()
    }
    if severities:
        query = query.where(alerts.c.severity.in_(severities))
    total = sum(counts.get(s, 0) for s in severities) if severities else sum(counts.values())
    rows = (
        conn.execute(
            query.order_by(alerts.c.started_at.desc(), alerts.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows], total, counts


def get_alert(conn: sa.Connection, principal: Principal, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(_base(principal).where(alerts.c.id == alert_id)).mappings().first()
    return dict(row) if row else None


def transitions(conn: sa.Connection, alert_id: int) -> list[dict[str, Any]]:
    rows = (
        conn.execute(
            sa.select(
                alert_transitions.c.at,
                alert_transitions.c.from_state,
                alert_transitions.c.to_state,
                alert_transitions.c.severity,
                alert_transitions.c.value,
                alert_transitions.c.threshold,
                alert_transitions.c.window_s,
                alert_transitions.c.evidence,
            )
            .where(alert_transitions.c.alert_id == alert_id)
            .order_by(alert_transitions.c.at)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def open_alerts_of_site(
    conn: sa.Connection, site_id: int, limit: int = 100
) -> list[dict[str, Any]]:
    rows = (
        conn.execute(
            sa.select(*_COLUMNS)
            .select_from(alerts)
            .join(sites, sites.c.id == alerts.c.site_id)
            .join(points, points.c.id == alerts.c.point_id, isouter=True)
            .where(alerts.c.site_id == site_id, alerts.c.state.in_(OPEN_STATES))
            .order_by(alerts.c.started_at.desc())
            .limit(limit)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def alerts_changed_since(
    conn: sa.Connection, site_id: int, after: datetime
) -> list[dict[str, Any]]:
    rows = (
        conn.execute(
            sa.select(*_COLUMNS, changed_at.label("changed_at"))
            .select_from(alerts)
            .join(sites, sites.c.id == alerts.c.site_id)
            .join(points, points.c.id == alerts.c.point_id, isouter=True)
            .where(alerts.c.site_id == site_id, changed_at > after)
            .order_by(changed_at)
            .limit(500)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def acknowledge(
    conn: sa.Connection, alert_id: int, username: str, comment: str, now: datetime
) -> None:
    """Record who acknowledged, when and why; the transition keeps it as evidence."""
    state = conn.execute(
        sa.select(alerts.c.state, alerts.c.severity)
        .where(alerts.c.id == alert_id)
        .with_for_update()
    ).one()
    conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id)
        .values(acknowledged_by=username, acknowledged_at=now, ack_comment=comment)
    )
    conn.execute(
        alert_transitions.insert().values(
            alert_id=alert_id,
            at=now,
            from_state=state.state,
            to_state=state.state,
            severity=state.severity,
            evidence={"event": "acknowledged", "by": username, "comment": comment},
        )
    )


def alerts_changed_in_scope(
    conn: sa.Connection, principal: Principal, after: datetime
) -> list[dict[str, Any]]:
    """Alerts of every site the caller sees that changed after `after` (the alert stream)."""
    rows = (
        conn.execute(
            _base(principal)
            .add_columns(changed_at.label("changed_at"))
            .where(changed_at > after)
            .order_by(changed_at)
            .limit(500)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]
