"""A batch: the readings and dead letters of whole messages, written in one transaction.

A message is acknowledged only when the batch holding all of it is committed, so a message is
never split across batches. A batch is sealed by size (readings) or by age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.ingest.copy_format import BUCKET_US, encode_row, pg_microseconds
from services.ingest.decode import Rejection, Row


@dataclass(frozen=True)
class Delivery:
    """How to acknowledge one MQTT message: its packet id on the connection it came on."""

    generation: int
    mid: int
    qos: int


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    rejection: Rejection


_Message = tuple[Delivery, str, list[tuple[int, Row]], list[Rejection]]


@dataclass
class Batch:
    started: float  # monotonic time of the first message
    deliveries: list[Delivery] = field(default_factory=list)
    point_ids: list[int] = field(default_factory=list)
    readings: list[Row] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)  # per reading, for conflict dead letters
    dead_letters: list[DeadLetter] = field(default_factory=list)
    newest_per_message: list[datetime] = field(default_factory=list)
    copy_rows: bytearray = field(default_factory=bytearray)  # binary COPY rows of `readings`
    buckets: set[tuple[int, int]] = field(default_factory=set)  # (point_id, bucket index)
    messages: list[_Message] = field(default_factory=list)  # to split a batch the DB refuses

    def add(
        self,
        delivery: Delivery,
        topic: str,
        accepted: list[tuple[int, Row]],
        rejections: list[Rejection],
    ) -> None:
        self.deliveries.append(delivery)
        self.messages.append((delivery, topic, accepted, rejections))
        rows, buckets = self.copy_rows, self.buckets
        for point_id, reading in accepted:
            self.point_ids.append(point_id)
            self.readings.append(reading)
            self.topics.append(topic)
            ts_us = pg_microseconds(reading.ts)
            rows += encode_row(point_id, ts_us, reading.v, reading.q)
            buckets.add((point_id, ts_us // BUCKET_US))
        if accepted:
            self.newest_per_message.append(max(r.ts for _, r in accepted))
        self.dead_letters.extend(DeadLetter(topic, r) for r in rejections)

    def split(self) -> list[Batch]:
        """One batch per message."""
        out = []
        for message in self.messages:
            one = Batch(self.started)
            one.add(*message)
            out.append(one)
        return out

    def __len__(self) -> int:
        return len(self.readings)

    def is_due(self, now: float, max_readings: int, max_age_s: float) -> bool:
        if not self.deliveries:
            return False
        return len(self.readings) >= max_readings or now - self.started >= max_age_s
