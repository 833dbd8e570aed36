"""Publishes the durable queue to the broker: QoS 1 batches, deleted once ingest has them.

One thread runs one plain loop: connect (with backoff), subscribe to the device's ack topic,
publish the birth message, then pump the queue until the connection drops or the agent stops.
The paho network loop is driven from this same thread (`client.loop()`), so callbacks never
race the bookkeeping.

A message's readings leave the queue when ingest confirms it committed them (a `CommitAck`
with its `seq` on the ack topic), not on the broker's PUBACK: a broker that restarts, or has no
subscriber for a moment, acknowledges and then drops (docs/protocol.md). At most
`inflight_window` messages are unconfirmed at a time; when the oldest has waited
`confirm_timeout_s`, the connection is dropped and, as after any lost connection, a fresh
client with a clean session reads the queue again from its head and re-sends in order
(at-least-once; ingest deduplicates on (point, ts)). Readings that were queued before the
connection came up are published with `backfill: true`. `confirm: puback` keeps the older,
weaker rule (delete on PUBACK) for a server that sends no confirmations.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge.config import EdgeConfig
from edge.encoding import encode_readings, unencodable
from edge.log_limit import RateLimitedLog
from edge.metrics import EdgeMetrics
from edge.queue import DurableQueue, QueuedReading
from edge.status import queue_warnings
from energywatch.backoff import Backoff
from energywatch.protocol import CommitAck, DeviceTopics, StatusMessage
from energywatch.protocol.client_ids import edge_client_id

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
    subscribed: bool | None = None  # to the ack topic; False: refused
    alive: bool = True
    acked: list[int] = field(default_factory=list)  # packet ids the broker acknowledged
    committed: list[int] = field(default_factory=list)  # seqs ingest confirmed


@dataclass(frozen=True)
class _InFlight:
    first_id: int
    last_id: int
    count: int
    sent_at: float  # time.monotonic()


@dataclass
class _Window:
    """Messages sent and not yet confirmed, by seq, oldest first; packet id to seq."""

    by_seq: dict[int, _InFlight] = field(default_factory=dict)
    seq_of_mid: dict[int, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_seq)

    def oldest_sent_at(self) -> float | None:
        return next(iter(self.by_seq.values())).sent_at if self.by_seq else None


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
        # A broker away for hours must not write a line per reconnect attempt.
        self._reconnect_log = RateLimitedLog(log)

    # -- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        pub = self.config.publish
        backoff = Backoff(pub.reconnect_min_s, pub.reconnect_max_s, jitter=0.2)
        while not self._stop.is_set():
            session = self._connect()
            if session is None:
                self.metrics.connect_failures.inc()
                if self._auth_refused:
                    backoff.slowest()  # retrying fast will not fix credentials
                wait = backoff.failed()
                log.info("reconnecting in %.1f s", wait)
                self._stop.wait(wait)
                continue
            backoff.reset()
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
        client_id = m.client_id or edge_client_id(
            m.topic_prefix, self.config.site, self.config.device
        )
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

        def on_subscribe(c: mqtt.Client, u: object, mid: int, rcs: list[Any], p: object) -> None:
            session_holder[0].subscribed = not any(rc.is_failure for rc in rcs)

        def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
            try:
                ack = CommitAck.model_validate_json(message.payload)
            except ValueError:
                log.warning("ignored a malformed confirmation on %s", message.topic)
                return
            session_holder[0].committed.extend(ack.committed)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        client.on_subscribe = on_subscribe
        client.on_message = on_message
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
            self._reconnect_log.warning(
                "connect", "cannot connect to %s:%s: %s", m.host, m.port, exc
            )
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
                self._reconnect_log.warning(
                    "connack", "no CONNACK from %s:%s (reason %s)", m.host, m.port, session.connack
                )
            self._close(session)
            return None
        if self.config.publish.confirm == "commit" and not self._subscribe_acks(session):
            self._close(session)
            return None
        log.info(
            "connected to %s:%s; publishing under %s",
            m.host,
            m.port,
            self.topics.readings.rsplit("/", 1)[0],
        )
        return session

    def _subscribe_acks(self, session: _Session) -> bool:
        """Subscribe to the ack topic before publishing, so no confirmation is missed."""
        client = session.client
        client.subscribe(self.topics.ack, qos=1)
        deadline = time.monotonic() + self.config.mqtt.connect_timeout_s
        while session.subscribed is None and session.alive and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        if session.subscribed is False:
            log.error(
                "broker refused the subscription to %s: regenerate its ACL"
                " (`energywatch mqtt acl`) or set publish.confirm to puback",
                self.topics.ack,
            )
        return bool(session.subscribed)

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
        window = _Window()
        drain_until: float | None = None
        self._publish_status(client, force=True)
        while session.alive:
            # Read before fetching: readings appended up to the stop are then fetched below.
            stopping = self._stop.is_set()
            exhausted = False
            while len(window) < pub.inflight_window:
                rows, backfill = self._next_batch(cursor, high_water)
                if not rows:
                    exhausted = True
                    break
                seq = self.queue.next_seq()
                payload, rows = self._encode(seq, backfill, rows)
                if payload is None:
                    continue  # every row went to the dead letters; fetch the next ones
                info = client.publish(self.topics.readings, payload, qos=1)
                if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    log.warning("publish failed (%s); reconnecting", info.rc)
                    session.alive = False
                    break
                sent = _InFlight(rows[0].id, rows[-1].id, len(rows), time.monotonic())
                window.by_seq[seq] = sent
                window.seq_of_mid[info.mid] = seq
                cursor = rows[-1].id
            # select() returns as soon as a packet arrives; the timeout only bounds idle waits.
            rc = client.loop(timeout=0.05)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                log.warning("connection lost (%s); reconnecting", rc)
                session.alive = False
            self._settle(session, window)
            if session.alive and self._confirmation_overdue(window):
                session.alive = False
            self._publish_status(client)
            if stopping:
                # Drivers have stopped: send what is queued, within a bounded time.
                drain_until = drain_until or time.monotonic() + pub.drain_s
                if exhausted and not window:
                    break
                if time.monotonic() > drain_until:
                    log.warning("stopping with %d readings still queued", self.queue.depth)
                    break
        if session.alive:
            self._say_goodbye(session)

    def _encode(
        self, seq: int, backfill: bool, rows: list[QueuedReading]
    ) -> tuple[bytes | None, list[QueuedReading]]:
        """The payload and the rows in it. A row that cannot be encoded would fail every
        attempt and hold the queue for good: it moves to the dead letters, the rest goes on."""
        try:
            return encode_readings(seq, backfill, rows, self.tz, self.units), rows
        except (ValueError, OverflowError, OSError):
            bad = unencodable(rows, self.tz)
            if not bad:
                raise
        for reason in set(bad.values()):
            ids = [i for i, why in bad.items() if why == reason]
            moved = self.queue.dead_letter(ids, reason)
            self.metrics.dead_lettered.labels(reason=reason.split(":")[0]).inc(moved)
            log.error(
                "%d queued readings cannot be encoded (%s): moved to the dead letters",
                moved,
                reason,
            )
        rows = [r for r in rows if r.id not in bad]
        if not rows:
            return None, rows
        return encode_readings(seq, backfill, rows, self.tz, self.units), rows

    def _next_batch(self, cursor: int, high_water: int) -> tuple[list[QueuedReading], bool]:
        limit = self.config.publish.batch_max_readings
        if cursor < high_water:
            rows = self.queue.fetch_after(cursor, limit, max_id=high_water)
            if rows:
                return rows, True
        return self.queue.fetch_after(max(cursor, high_water), limit), False

    def _settle(self, session: _Session, window: _Window) -> None:
        """Delete the readings of confirmed messages (on PUBACK with `confirm: puback`)."""
        done = []
        on_puback = self.config.publish.confirm == "puback"
        for mid in session.acked:
            seq = window.seq_of_mid.pop(mid, None)
            if on_puback and seq is not None and seq in window.by_seq:
                done.append(window.by_seq.pop(seq))
        session.acked.clear()
        for seq in session.committed:
            if seq in window.by_seq:  # else a late answer for a message since re-sent
                done.append(window.by_seq.pop(seq))
        session.committed.clear()
        if done:
            self.queue.delete_ranges((f.first_id, f.last_id) for f in done)
            self.metrics.messages_published.inc(len(done))
            self.metrics.readings_published.inc(sum(f.count for f in done))

    def _confirmation_overdue(self, window: _Window) -> bool:
        """True when the oldest unconfirmed message has waited too long: ingest is away, or the
        broker dropped the message (e.g. restarted without ingest's shared subscription)."""
        oldest = window.oldest_sent_at()
        timeout = self.config.publish.confirm_timeout_s
        if oldest is None or time.monotonic() - oldest < timeout:
            return False
        self.metrics.confirm_timeouts.inc()
        log.warning(
            "%d messages unconfirmed by ingest after %.0f s; reconnecting to send them again",
            len(window),
            timeout,
        )
        return True

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
