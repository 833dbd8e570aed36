"""Prometheus metrics of the alerting service (exposed on alerting.metrics_port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVALUATION_SECONDS = Histogram(
    "energywatch_alerting_evaluation_seconds",
    "Duration of one evaluation cycle, by group",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30),
)
EVALUATIONS = Counter(
    "energywatch_alerting_evaluations_total",
    "Evaluations by group and by what started them (event, tick, sweep)",
    ["group", "run"],
)
RUN_SECONDS = Counter(
    "energywatch_alerting_run_seconds",
    "Time spent in evaluations, by group and by what started them",
    ["group", "run"],
)
READ_SECONDS = Counter(
    "energywatch_alerting_read_seconds",
    "Time spent reading the inputs of evaluations (mostly database time), by group and run",
    ["group", "run"],
)
CHANGED_POINTS = Counter(
    "energywatch_alerting_changed_points_total",
    "Points named by notifications, summed over the event evaluations that read them",
    ["group"],
)
RULES = Gauge("energywatch_alerting_rules", "Enabled rules loaded")
ALERTS = Gauge("energywatch_alerting_alerts", "Open alerts by state", ["state"])
TRANSITIONS = Counter(
    "energywatch_alerting_transitions_total", "Alert state transitions by target state", ["to"]
)
NOTIFICATIONS = Counter(
    "energywatch_alerting_notifications_total", "Notifications delivered", ["channel"]
)
NOTIFICATION_FAILURES = Counter(
    "energywatch_alerting_notification_failures_total",
    "Failed delivery attempts (each retry counts)",
    ["channel"],
)
NOTIFICATIONS_GIVEN_UP = Counter(
    "energywatch_alerting_notifications_given_up_total",
    "Notifications that exhausted their retries",
    ["channel"],
)
OUTBOX_PENDING = Gauge("energywatch_alerting_outbox_pending", "Outbox rows not yet delivered")
