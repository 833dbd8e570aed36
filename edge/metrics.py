"""Counters of the edge agent, exposed to Prometheus on `metrics_port` if configured.

Each agent has its own registry, so several agents (tests, benchmarks) live in one process.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge

from edge.log_limit import RateLimitedLog

log = logging.getLogger("edge.metrics")


class EdgeMetrics:
    def __init__(self) -> None:
        self._refusals_log = RateLimitedLog(log)
        self.registry = CollectorRegistry()
        r = self.registry
        self.readings_read = Counter(
            "edge_readings_read", "Readings read from devices and queued", ["driver"], registry=r
        )
        self.frames_refused = Counter(
            "edge_frames_refused",
            "Malformed or unexpected frames and packets refused",
            ["driver", "reason"],
            registry=r,
        )
        self.device_errors = Counter(
            "edge_device_errors", "Failed device reads (timeouts, errors)", ["driver"], registry=r
        )
        self.readings_published = Counter(
            "edge_readings_published",
            "Readings confirmed (by ingest's commit, or the broker with confirm: puback)",
            registry=r,
        )
        self.messages_published = Counter(
            "edge_messages_published",
            "Readings messages confirmed (by ingest's commit, or the broker with confirm: puback)",
            registry=r,
        )
        self.confirm_timeouts = Counter(
            "edge_confirm_timeouts",
            "Times the oldest message waited confirm_timeout_s and the window was re-sent",
            registry=r,
        )
        self.dead_lettered = Counter(
            "edge_readings_dead_lettered",
            "Queued readings the publisher could not encode, moved to the dead_letters table",
            ["reason"],
            registry=r,
        )
        self.connects = Counter("edge_mqtt_connects", "Successful connections", registry=r)
        self.connect_failures = Counter(
            "edge_mqtt_connect_failures", "Failed connection attempts", registry=r
        )
        self.connected = Gauge("edge_mqtt_connected", "1 while connected", registry=r)
        self.queue_depth = Gauge("edge_queue_depth", "Readings on disk", registry=r)
        self.queue_dropped = Gauge(
            "edge_queue_dropped", "Readings dropped by the full policy (total)", registry=r
        )

    def refuse(self, driver: str, reason: str, detail: str) -> None:
        """Count a refused frame and log why (once a minute per driver and reason: a device
        sending garbage must not fill the disk); the reason label is a short fixed word."""
        self.frames_refused.labels(driver=driver, reason=reason).inc()
        self._refusals_log.warning(
            f"{driver}:{reason}", "%s: frame refused (%s): %s", driver, reason, detail
        )

    def refused(self, driver: str, reason: str | None = None) -> float:
        total = 0.0
        for metric in self.frames_refused.collect():
            for s in metric.samples:
                if not s.name.endswith("_total") or s.labels.get("driver") != driver:
                    continue
                if reason is None or s.labels.get("reason") == reason:
                    total += s.value
        return total
