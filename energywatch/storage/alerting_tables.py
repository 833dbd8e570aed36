"""Alerting tables: API-managed rules, alerts and their transitions, silences, contacts and
the notification outbox with its delivery log. Created by migration alerting_0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from energywatch.storage.tables import TZ, consumption_15min, metadata

OPEN_STATES = ("pending", "firing")

alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    # The rule document, validated by services.alerting.rules.parse_rule before it is stored.
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_by", sa.Text),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),  # "site:CODE" or "point:SITE/POINT"
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE")),
    sa.Column("point_id", sa.Integer, sa.ForeignKey("points.id", ondelete="CASCADE")),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("unit", sa.Text, nullable=False, server_default=""),
    sa.Column("started_at", TZ, nullable=False),  # became pending
    sa.Column("fired_at", TZ),
    sa.Column("resolved_at", TZ),
    sa.Column("last_evaluated_at", TZ),
    sa.Column("last_notified_at", TZ),
    sa.Column("notified_severity", sa.Text),  # the severity the last firing notice announced
    sa.Column("notify_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("acknowledged_by", sa.Text),
    sa.Column("acknowledged_at", TZ),
    sa.Column("ack_comment", sa.Text),
    sa.Column("escalated_at", TZ),
    sa.Column("silenced_by", sa.BigInteger),
    sa.CheckConstraint("state IN ('pending', 'firing', 'resolved', 'cancelled')", name="state"),
    sa.Index(
        "uq_alerts_open_rule_subject",
        "rule",
        "subject",
        unique=True,
        postgresql_where=sa.text("state IN ('pending', 'firing')"),
    ),
    sa.Index("ix_alerts_site_started", "site_id", "started_at"),
)
# What a regulator has to look at: alerts firing now, and critical ones that resolved before
# anyone acknowledged them (a breach that ended on its own still needs a reader). The API's
# inbox (services/api/queries/alerts.py) and its index (migration alerting_0003_inbox).
IN_INBOX = sa.or_(
    alerts.c.state == "firing",
    sa.and_(
        alerts.c.state == "resolved",
        alerts.c.severity == "critical",
        alerts.c.acknowledged_at.is_(None),
    ),
)
sa.Index("ix_alerts_inbox", alerts.c.site_id, alerts.c.started_at, postgresql_where=IN_INBOX)
# Open alerts by site, with what the regulator's ranking counts them by (migration
# 0010_ranking_indexes): the ranking and the live view read no closed alert.
sa.Index(
    "ix_alerts_open_site",
    alerts.c.site_id,
    alerts.c.started_at,
    postgresql_include=["state", "severity"],
    postgresql_where=alerts.c.state.in_(OPEN_STATES),
)

alert_transitions = sa.Table(
    "alert_transitions",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column(
        "alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", TZ, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("severity", sa.Text),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("window_s", sa.Float),
    # Everything the decision rested on: inputs, clear level, for, the user for an ack...
    sa.Column("evidence", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Index("ix_alert_transitions_alert_at", "alert_id", "at"),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, server_default="silence"),
    # All given keys must match: rule, site (code), point ("SITE/POINT"), region (division
    # prefix), severity. An empty matcher set silences everything.
    sa.Column("matchers", JSONB, nullable=False),
    sa.Column("starts_at", TZ, nullable=False),
    sa.Column("ends_at", TZ, nullable=False),
    # Maintenance windows may recur daily: local times in `timezone`, within starts..ends.
    sa.Column("daily_from", sa.Time),
    sa.Column("daily_to", sa.Time),
    sa.Column("timezone", sa.Text, nullable=False, server_default="Asia/Shanghai"),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("kind IN ('silence', 'maintenance')", name="kind"),
    sa.CheckConstraint("ends_at > starts_at", name="span"),
)

alert_contacts = sa.Table(
    "alert_contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),  # operator (of a site) | regulator (of a region)
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE")),
    sa.Column("division_prefix", sa.String(6)),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.CheckConstraint("role IN ('operator', 'regulator')", name="role"),
    sa.CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
    sa.CheckConstraint(
        "(role = 'operator' AND site_id IS NOT NULL) OR "
        "(role = 'regulator' AND division_prefix ~ '^[0-9]{1,6}$')",
        name="scope",
    ),
)

notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="CASCADE")),
    sa.Column("event", sa.Text, nullable=False),  # firing | reminder | resolved | escalation...
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("delivered_at", TZ),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    sa.CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
    sa.Index(
        "ix_notification_outbox_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

notification_deliveries = sa.Table(
    "notification_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column(
        "outbox_id",
        sa.BigInteger,
        sa.ForeignKey("notification_outbox.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempted_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Index("ix_notification_deliveries_outbox", "outbox_id"),
)

# The alerting service reads the rollups written since its last cycle (migration alerting_0002).
sa.Index("ix_consumption_15min_computed_at", consumption_15min.c.computed_at)
