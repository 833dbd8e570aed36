"""Prometheus metrics of the ingest service, on a registry of its own (one per service)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from energywatch.metrics_server import serve_metrics
from services.ingest.reasons import Reason

_LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    3600.0,
    86400.0,
)
_BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000)


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "ingest_messages", "MQTT messages received", ["outcome"], registry=r
        )
        self.readings_stored = Counter(
            "ingest_readings_stored", "new rows committed to readings", registry=r
        )
        self.readings_duplicate = Counter(
            "ingest_readings_duplicate", "readings already stored with the same value", registry=r
        )
        self.rejected = Counter(
            "ingest_rejected",
            "readings or messages dead-lettered, by reason",
            ["reason"],
            registry=r,
        )
        for reason in Reason:
            self.rejected.labels(str(reason))
        self.batch_size = Histogram(
            "ingest_batch_readings",
            "readings per committed batch",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "ingest_commit_seconds",
            "time to write and commit one batch",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.lag_seconds = Histogram(
            "ingest_lag_seconds",
            "commit time minus the newest reading time of each committed message",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.db_errors = Counter("ingest_db_errors", "failed database writes", registry=r)
        self.confirmations = Counter(
            "ingest_confirmations",
            "messages confirmed to their device on its ack topic after commit",
            registry=r,
        )
        self.inflight = Gauge(
            "ingest_inflight_messages", "messages received and not yet acknowledged", registry=r
        )
        self.inflight_bytes = Gauge(
            "ingest_inflight_bytes",
            "payload bytes of the messages received and not yet acknowledged",
            registry=r,
        )
        self.connected = Gauge(
            "ingest_mqtt_connected", "1 when connected and subscribed to the broker", registry=r
        )
        self.session_takeovers = Counter(
            "ingest_session_takeovers",
            "disconnections because a client connected with this client id (MQTT 5 reason 142)",
            registry=r,
        )
        self.db_up = Gauge("ingest_db_up", "1 when the last database write succeeded", registry=r)

    def serve(self, port: int, addr: str = "0.0.0.0") -> Callable[[], None]:
        """Serve /metrics on `port`; returns the function that stops the server."""
        return serve_metrics(self.registry, port, "ingest.metrics_port", addr)
