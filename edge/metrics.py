"""Counters of the edge agent, exposed to Prometheus on `metrics_port` if configured.

Each agent has its own registry, so several agents (tests, benchmarks) live in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from edge.log_limit import RateLimitedLog
from edge.queue import DROP_REASONS, INCIDENT_KINDS, DropReason, DurableQueue, IncidentKind

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
        # Queue figures are read from the queue when scraped (see watch_queue).
        self.queue_depth = Gauge("edge_queue_depth", "Readings waiting on disk", registry=r)
        self.queue_dropped = Gauge(
            "edge_queue_dropped",
            "Readings dropped (total): reason capacity (full policy) or disk_full",
            ["reason"],
            registry=r,
        )
        self.queue_disk_full = Gauge(
            "edge_queue_disk_full", "1 while the disk refuses the queue's writes", registry=r
        )
        self.queue_pending_deletes = Gauge(
            "edge_queue_pending_deletes",
            "Delivered readings not yet deleted because the disk is full",
            registry=r,
        )
        self.queue_incidents = Gauge(
            "edge_queue_incidents",
            "Queue files found damaged, missing, empty or without their WAL since start",
            ["kind"],
            registry=r,
        )
        self.queue_salvaged = Gauge(
            "edge_queue_salvaged",
            "Readings copied out of damaged queue files or orphaned WALs since start",
            registry=r,
        )

    def watch_queue(self, queue: DurableQueue) -> None:
        self.queue_depth.set_function(lambda: queue.depth)
        for reason in DROP_REASONS:
            self.queue_dropped.labels(reason=reason).set_function(_dropped(queue, reason))
        self.queue_disk_full.set_function(lambda: queue.disk_full)
        self.queue_pending_deletes.set_function(lambda: queue.pending_deletes)
        for kind in INCIDENT_KINDS:
            self.queue_incidents.labels(kind=kind).set_function(_incidents(queue, kind))
        self.queue_salvaged.set_function(lambda: queue.salvaged)

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


def _dropped(queue: DurableQueue, reason: DropReason) -> Callable[[], float]:
    return lambda: queue.dropped_by_reason[reason]


def _incidents(queue: DurableQueue, kind: IncidentKind) -> Callable[[], float]:
    return lambda: sum(i.kind == kind for i in queue.incidents)
