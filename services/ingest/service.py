"""The ingest service: MQTT in, PostgreSQL out, acknowledgement after commit.

Three threads, each with one job:
- paho's network thread puts every message into the inbox (consumer.py);
- the pipeline thread decodes and validates messages and fills batches (by size and age);
- the writer thread commits each batch, then acknowledges its messages. When the database is
  away it retries the same batch with backoff; the pipeline then blocks on the full hand-over
  queue, the inbox holds at most the broker's receive maximum, and nothing is acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from energywatch.backoff import Backoff
from energywatch.dependencies import Dependency, database_problem, dependency_gauge
from energywatch.protocol import CommitAck, DeviceTopics
from energywatch.settings import Settings
from services.ingest.batch import Batch, Confirmation
from services.ingest.consumer import Inbound, MqttConsumer
from services.ingest.copy_format import pg_microseconds
from services.ingest.decode import Rejection, decode_message, payload_text
from services.ingest.metrics import IngestMetrics
from services.ingest.reasons import Reason
from services.ingest.registry import Registry, RegistryCache
from services.ingest.validate import check_readings
from services.ingest.writer import WriteResult
from services.ingest.writers import BatchWriter, InOrder, Refused

log = logging.getLogger(__name__)

_STOP = object()


def _refused_message(batch: Batch, error: Exception) -> Batch:
    """A batch of one message the database refused: its readings become one dead letter."""
    (delivery, topic, _, readings, rejections, confirmation) = batch.messages[0]
    payload = "[" + ",".join(r.to_json() for r in readings) + "]"
    detail = f"the database refused the message: {type(error).__name__}: {error}"[:2000]
    refused = Rejection(Reason.INTERNAL_ERROR, detail, payload[:65_536])
    one = Batch(batch.started)
    one.add(delivery, topic, [], [], [*rejections, refused], confirmation)
    return one


class IngestService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The client id resolved once: the consumer connects with it on every reconnect.
        self.config = settings.ingest.model_copy(update={"client_id": settings.ingest_client_id})
        self.metrics = IngestMetrics()
        gauge = dependency_gauge(self.metrics.registry)
        self.database = Dependency("database", log, gauge)
        self.broker = Dependency("broker", log, gauge)
        self.registry = RegistryCache(
            settings.database.url, self.config.registry_refresh_s, self.config.registry_max_age_s
        )
        self._inbox: queue.SimpleQueue[Inbound | object] = queue.SimpleQueue()
        self._batches: queue.Queue[Batch | object] = queue.Queue(maxsize=1)
        self._sealed = 0  # batches handed to the writers, numbering their turns to acknowledge
        self._turns = InOrder()
        self._abort = threading.Event()  # stop now, even with unwritten batches
        self.consumer = MqttConsumer(
            settings.mqtt, self.config, self._receive, self.metrics, self.broker
        )
        self._threads = [
            threading.Thread(target=self._pipeline, name="ingest-pipeline", daemon=True),
            *(
                threading.Thread(target=self._writer, name=f"ingest-writer-{n}", daemon=True)
                for n in range(self.config.writers)
            ),
        ]
        self._close_metrics: Callable[[], None] | None = None
        self._inflight = 0
        self._inflight_bytes = 0
        self._inflight_lock = threading.Condition()

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.metrics_port is not None:
            self._close_metrics = self.metrics.serve(self.config.metrics_port)
        for thread in self._threads:
            thread.start()
        self.consumer.start()
        log.info(
            "ingest started: %s as client %s", self.consumer.subscription, self.config.client_id
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Unsubscribe, write and acknowledge what has been received, then disconnect.

        When everything received was acknowledged, the session ends with the connection, so the
        broker no longer counts this worker in the shared subscription. If the database does
        not let the last batches through within `timeout_s`, they stay unacknowledged and the
        session is kept: a worker started with the same client id picks them up.
        """
        deadline = time.monotonic() + timeout_s
        unsubscribed = self.consumer.unsubscribe(timeout_s=min(5.0, timeout_s / 2))
        self._inbox.put(_STOP)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._abort.set()
        for thread in self._threads:
            thread.join(5)
        with self._inflight_lock:
            everything_acked = self._inflight == 0
        self.consumer.stop(end_session=unsubscribed and everything_acked)
        if self._close_metrics:
            self._close_metrics()
        log.info("ingest stopped")

    def is_healthy(self) -> bool:
        return all(t.is_alive() for t in self._threads)

    # --- paho network thread ---------------------------------------------------------------

    def _receive(self, message: Inbound) -> None:
        with self._inflight_lock:
            # Back-pressure of our own: the broker should not send more than the receive
            # maximum, but a burst can overshoot it; and a count of messages does not bound
            # memory when messages are large (500 of 10,000 readings took 447 MB). Holding
            # paho's network thread here stops reading the socket until the writers have
            # acknowledged enough. One message is always let through, whatever its size.
            limit, limit_bytes = self.config.max_inflight_messages, self.config.max_inflight_bytes
            size = message.delivery.size
            while (
                self._inflight >= limit
                or (self._inflight and self._inflight_bytes + size > limit_bytes)
            ) and not self._abort.is_set():
                self._inflight_lock.wait(0.5)
            self._inflight += 1
            self._inflight_bytes += size
            self.metrics.inflight.set(self._inflight)
            self.metrics.inflight_bytes.set(self._inflight_bytes)
        self.metrics.messages.labels("received").inc()
        self._inbox.put(message)

    # --- pipeline thread -------------------------------------------------------------------

    def _pipeline(self) -> None:
        # Load the registry first: a wrong or absent database shows in the log at once, not
        # with the first reading.
        with contextlib.suppress(psycopg.Error):  # only when stopped while it is away
            self._registry()
        max_age_s = self.config.batch_max_age_ms / 1000
        batch: Batch | None = None
        while True:
            if batch is None:
                wait = 0.5
            else:  # once due, poll briefly until the writer can take it
                wait = max(0.002, batch.started + max_age_s - time.monotonic())
            try:
                item = self._inbox.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is _STOP:
                if batch is not None:
                    self._batches.put(self._seal(batch))
                self._batches.put(_STOP)
                return
            if isinstance(item, Inbound):
                if batch is None:
                    batch = Batch(time.monotonic())
                try:
                    self._take(batch, item)
                except Exception as exc:  # a bug must not stop the service: keep the message
                    log.exception("could not process a message on %s", item.topic)
                    failure = Rejection(
                        Reason.INTERNAL_ERROR, repr(exc)[:500], payload_text(item.payload)
                    )
                    batch.add(item.delivery, item.topic, [], [], [failure])
            if batch is None:
                continue
            # Group commit: a batch old enough goes as soon as the writer has room; while the
            # writer is busy the batch keeps growing, up to batch_max_readings.
            full = len(batch) >= self.config.batch_max_readings
            if full or (
                batch.is_due(time.monotonic(), self.config.batch_max_readings, max_age_s)
                and self._batches.empty()
            ):
                self._hand_over(batch)
                batch = None

    def _seal(self, batch: Batch) -> Batch:
        batch.seq = self._sealed
        self._sealed += 1
        return batch

    def _hand_over(self, batch: Batch) -> None:
        self._seal(batch)
        while not self._abort.is_set():
            try:
                self._batches.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def _take(self, batch: Batch, message: Inbound) -> None:
        decoded = decode_message(message.topic, message.payload, self.settings.mqtt.topic_prefix)
        received = datetime.fromtimestamp(message.received, UTC)
        skew = self.config.future_skew_s
        registry = self._registry()
        checked = check_readings(decoded, registry, received, skew)
        if checked.missed:
            fresher = self._registry(after_miss=True)
            if fresher is not registry:  # the registry changed since: it may know them now
                checked = check_readings(decoded, fresher, received, skew)
        confirmation = None
        if decoded.seq is not None and decoded.site:
            ack = DeviceTopics(decoded.site, decoded.device, self.settings.mqtt.topic_prefix).ack
            confirmation = Confirmation(ack, decoded.seq)
        batch.add(
            message.delivery,
            message.topic,
            checked.point_ids,
            checked.readings,
            checked.rejections,
            confirmation,
        )

    def _registry(self, after_miss: bool = False) -> Registry:
        backoff = Backoff(self.config.reconnect_min_s, self.config.reconnect_max_s)
        while True:
            try:
                if after_miss:
                    fresh = self.registry.after_miss() or self.registry.current
                else:
                    fresh = self.registry.get()
                self.database.up()
                return fresh
            except psycopg.Error as exc:
                if self.registry.loaded and not after_miss:
                    return self.registry.current  # stale is fine until the database is back
                self.database.down(database_problem(self.settings.database.url, exc))
                if self._abort.is_set():
                    raise
                backoff.wait(self._abort)

    # --- writer thread ---------------------------------------------------------------------

    def _writer(self) -> None:
        writer = BatchWriter(
            self.settings.database.url,
            self.metrics,
            self._abort,
            (self.config.reconnect_min_s, self.config.reconnect_max_s),
            self.database,
        )
        folded_at = time.monotonic()
        try:
            while True:
                item = self._batches.get()
                if item is _STOP or not isinstance(item, Batch):
                    self._batches.put(_STOP)  # for the other writers
                    break
                written = self._write_all(writer, item)
                # Aborted before the batch was written or its turn came: it stays unacked.
                if written is None or not self._turns.wait(item.seq, self._abort):
                    break
                for one, result in written:
                    self._acknowledge(one, result)
                self._turns.done(item.seq)
                if time.monotonic() - folded_at >= self.config.fold_marks_s:
                    folded_at = time.monotonic()
                    writer.fold_marks()
        finally:
            writer.close()

    def _write_all(
        self, writer: BatchWriter, batch: Batch, *, dead_letter_only: bool = False
    ) -> list[tuple[Batch, WriteResult]] | None:
        """Commit the batch; None if stopped first."""
        try:
            result = writer.write(batch)
        except Refused as refused:
            # Not the connection: the database refuses this data. Find the message at fault,
            # dead-letter it whole, and keep the others.
            if dead_letter_only:
                # Even the dead letter is refused: nothing is acknowledged, the thread stops and
                # the process exits non-zero for its supervisor to restart it.
                raise
            parts = batch.split() if len(batch.messages) > 1 else []
            if not parts:
                parts = [_refused_message(batch, refused.error)]
            written = []
            for part in parts:
                done = self._write_all(writer, part, dead_letter_only=not part.readings)
                if done is None:
                    return None
                written += done
            return written
        return None if result is None else [(batch, result)]

    def _confirm(self, confirmations: list[Confirmation]) -> None:
        """Tell each device which of its messages are committed (docs/protocol.md)."""
        by_topic: dict[str, list[int]] = {}
        for c in confirmations:
            by_topic.setdefault(c.topic, []).append(c.seq)
        for topic, seqs in by_topic.items():
            self.consumer.publish(topic, CommitAck(committed=seqs).model_dump_json().encode())
        self.metrics.confirmations.inc(len(confirmations))

    def _acknowledge(self, batch: Batch, result: WriteResult) -> None:
        m = self.metrics
        now_us = pg_microseconds(datetime.now(UTC))
        for newest_us in batch.newest_us_per_message:
            m.lag_seconds.observe((now_us - newest_us) / 1e6)
        m.readings_stored.inc(result.stored)
        m.readings_duplicate.inc(result.duplicates)
        m.batch_size.observe(len(batch))
        for letter in batch.dead_letters + result.conflicts:
            m.rejected.labels(str(letter.rejection.reason)).inc()
        acked = stale = 0
        for delivery in batch.deliveries:
            if self.consumer.ack(delivery):
                acked += 1
            else:
                stale += 1
        m.messages.labels("acked").inc(acked)
        if stale:
            m.messages.labels("stale").inc(stale)
        self._confirm(batch.confirmations)
        with self._inflight_lock:
            self._inflight -= len(batch.deliveries)
            self._inflight_bytes -= sum(d.size for d in batch.deliveries)
            m.inflight.set(self._inflight)
            m.inflight_bytes.set(self._inflight_bytes)
            self._inflight_lock.notify_all()
