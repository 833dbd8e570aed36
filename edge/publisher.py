"""Publishes the durable queue to the broker: QoS 1 batches, delete after PUBACK.

One thread runs one plain loop: connect (with backoff), publish the birth message, then pump
the queue until the connection drops or the agent stops. The paho network loop is driven from
this same thread (`client.loop()`), so PUBACK callbacks never race the bookkeeping.

Each connection starts a fresh client with a clean session: whatever was in flight on a lost
connection is simply read again from the queue and re-sent in order (at-least-once; ingest
deduplicates on (point, ts)). Readings that were queued before the connection came up are
published with `backfill: true`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge.config import EdgeConfig
from edge.encoding import encode_readings
from edge.metrics import EdgeMetrics
from edge.queue import DurableQueue, QueuedReading
from edge.status import queue_warnings
from energywatch.protocol import DeviceTopics, StatusMessage

log = logging.getLogger("edge.publisher")


def agent_version() -> str:
    try:
        return metadata.version("energywatch")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class _Session:
    """One connection's client and what its callbacks report."""

    client: mqtt.Client
    connack: int | None = None  # reason code value; 0 = accepted
    alive: bool = True
    acked: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _InFlight:
    first_id: int
    last_id: int
    count: int


class Publisher:
    def __init__(self, config: EdgeConfig, queue: DurableQueue, metrics: EdgeMetrics) -> None:
        self.config = config
        self.queue = queue
        self.metrics = metrics
        self.topics = DeviceTopics(config.site, config.device, config.mqtt.topic_prefix)
        self.units = config.units()
        self.tz = config.tz
        self.version = agent_version()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._last_status: tuple[list[str], int] | None = None
        self._last_status_at = 0.0
        self._auth_refused = False

    # -- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        pub = self.config.publish
        delay = pub.reconnect_min_s
        while not self._stop.is_set():
            session = self._connect()
            if session is None:
                self.metrics.connect_failures.inc()
                if self._auth_refused:
                    delay = pub.reconnect_max_s  # retrying fast will not fix credentials
                wait = delay * random.uniform(0.8, 1.2)
                log.info("reconnecting in %.1f s", wait)
                self._stop.wait(wait)
                delay = min(delay * 2, pub.reconnect_max_s)
                continue
            delay = pub.reconnect_min_s
            self.metrics.connects.inc()
            self.metrics.connected.set(1)
            self.connected.set()
            try:
                self._pump(session)
            except Exception:
                log.exception("publisher error; reconnecting")
                self._stop.wait(pub.reconnect_min_s)  # a bug must not become a busy loop
            finally:
                self.connected.clear()
                self.metrics.connected.set(0)
                self._close(session)

    # -- connection -----------------------------------------------------------------------

    def _new_client(self, session_holder: list[_Session]) -> mqtt.Client:
        m = self.config.mqtt
        client_id = m.client_id or f"ew-edge-{self.config.site}-{self.config.device}"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
            reconnect_on_failure=False,
        )
        client.connect_timeout = m.connect_timeout_s
        if m.username:
            client.username_pw_set(
                m.username, m.password.get_secret_value() if m.password else None
            )
        if m.tls.enabled:
            client.tls_set(
                ca_certs=str(m.tls.ca_file) if m.tls.ca_file else None,
                certfile=str(m.tls.cert_file) if m.tls.cert_file else None,
                keyfile=str(m.tls.key_file) if m.tls.key_file else None,
            )
            client.tls_insecure_set(m.tls.insecure)
        offline = StatusMessage(state="offline", agent_version=self.version)
        client.will_set(
            self.topics.status, offline.model_dump_json(exclude_none=True), qos=1, retain=True
        )
        client.max_inflight_messages_set(self.config.publish.inflight_window)

        def on_connect(c: mqtt.Client, u: object, flags: object, rc: object, p: object) -> None:
            session_holder[0].connack = int(getattr(rc, "value", rc))  # type: ignore[call-overload]

        def on_disconnect(c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
            session_holder[0].alive = False

        def on_publish(c: mqtt.Client, u: object, mid: int, rc: object, p: object) -> None:
            session_holder[0].acked.append(mid)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        return client

    def _connect(self) -> _Session | None:
        m = self.config.mqtt
        holder: list[_Session] = []
        client = self._new_client(holder)
        session = _Session(client)
        holder.append(session)
        try:
            client.connect(m.host, m.port, keepalive=m.keepalive_s)
        except (OSError, ValueError) as exc:
            log.warning("cannot connect to %s:%s: %s", m.host, m.port, exc)
            return None
        deadline = time.monotonic() + m.connect_timeout_s
        while session.connack is None and session.alive and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        self._auth_refused = session.connack in (4, 5, 134, 135)
        if session.connack != 0:
            if self._auth_refused:
                log.error("broker refused the credentials (reason %s)", session.connack)
            else:
                log.warning("no CONNACK from %s:%s (reason %s)", m.host, m.port, session.connack)
            self._close(session)
            return None
        log.info(
            "connected to %s:%s; publishing under %s",
            m.host,
            m.port,
            self.topics.readings.rsplit("/", 1)[0],
        )
        return session

    def _close(self, session: _Session) -> None:
        try:
            session.client.disconnect()
            session.client.loop(timeout=0.05)
        except Exception:  # the socket may already be gone
            log.debug("disconnect on a dead connection", exc_info=True)
        # loop() made a socket pair to wake its select(); only loop_stop() would close it,
        # and this client never started a thread.
        session.client._reset_sockets()

    # -- pumping --------------------------------------------------------------------------

    def _pump(self, session: _Session) -> None:
        client = session.client
        pub = self.config.publish
        high_water = self.queue.last_id()  # rows up to here were queued before this connection
        cursor = 0
        inflight: dict[int, _InFlight] = {}
        drain_until: float | None = None
        self._publish_status(client, force=True)
        while session.alive:
            # Read before fetching: readings appended up to the stop are then fetched below.
            stopping = self._stop.is_set()
            exhausted = False
            while len(inflight) < pub.inflight_window:
                rows, backfill = self._next_batch(cursor, high_water)
                if not rows:
                    exhausted = True
                    break
                payload = encode_readings(
                    self.queue.next_seq(), backfill, rows, self.tz, self.units
                )
                info = client.publish(self.topics.readings, payload, qos=1)
                if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    log.warning("publish failed (%s); reconnecting", info.rc)
                    session.alive = False
                    break
                inflight[info.mid] = _InFlight(rows[0].id, rows[-1].id, len(rows))
                cursor = rows[-1].id
            # select() returns as soon as a PUBACK arrives; the timeout only bounds idle waits.
            rc = client.loop(timeout=0.05)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                log.warning("connection lost (%s); reconnecting", rc)
                session.alive = False
            self._settle(session, inflight)
            self._publish_status(client)
            if stopping:
                # Drivers have stopped: send what is queued, within a bounded time.
                drain_until = drain_until or time.monotonic() + pub.drain_s
                if exhausted and not inflight:
                    break
                if time.monotonic() > drain_until:
                    log.warning("stopping with %d readings still queued", self.queue.depth)
                    break
        if session.alive:
            self._say_goodbye(session)

    def _next_batch(self, cursor: int, high_water: int) -> tuple[list[QueuedReading], bool]:
        limit = self.config.publish.batch_max_readings
        if cursor < high_water:
            rows = self.queue.fetch_after(cursor, limit, max_id=high_water)
            if rows:
                return rows, True
        return self.queue.fetch_after(max(cursor, high_water), limit), False

    def _settle(self, session: _Session, inflight: dict[int, _InFlight]) -> None:
        """Delete the readings of acknowledged messages."""
        if not session.acked:
            return
        done = [inflight.pop(mid) for mid in session.acked if mid in inflight]
        session.acked.clear()
        if done:
            self.queue.delete_ranges((f.first_id, f.last_id) for f in done)
            self.metrics.messages_published.inc(len(done))
            self.metrics.readings_published.inc(sum(f.count for f in done))

    def _say_goodbye(self, session: _Session) -> None:
        offline = StatusMessage(
            state="offline", ts=datetime.now(self.tz), agent_version=self.version
        )
        info = session.client.publish(
            self.topics.status, offline.model_dump_json(exclude_none=True), qos=1, retain=True
        )
        deadline = time.monotonic() + 2.0
        while not info.is_published() and session.alive and time.monotonic() < deadline:
            session.client.loop(timeout=0.05)

    # -- status ---------------------------------------------------------------------------

    def warnings(self) -> list[str]:
        return queue_warnings(self.queue, self.config.queue.warn_fill)

    def _publish_status(self, client: mqtt.Client, force: bool = False) -> None:
        now = time.monotonic()
        warnings = self.warnings()
        key = (warnings, self.queue.dropped)
        changed = key != self._last_status
        due = now - self._last_status_at >= self.config.publish.status_interval_s
        # A changing drop count is reported at most once a second.
        if not (force or due or (changed and now - self._last_status_at >= 1.0)):
            return
        if changed and warnings:
            log.warning("edge status: %s", "; ".join(warnings))
        status = StatusMessage(
            state="online",
            ts=datetime.now(self.tz),
            agent_version=self.version,
            queue_depth=self.queue.depth,
            queue_fill=round(self.queue.fill, 4),
            queue_dropped=self.queue.dropped,
            queue_dropped_by_reason=dict(self.queue.dropped_by_reason),
            warnings=warnings,
        )
        client.publish(self.topics.status, status.model_dump_json(), qos=1, retain=True)
        self._last_status = key
        self._last_status_at = now
