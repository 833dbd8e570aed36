"""A batch: the readings and dead letters of whole messages, written in one transaction.

A message is acknowledged only when the batch holding all of it is committed, so a message is
never split across batches. A batch is sealed by size (readings) or by age.

Readings are kept as columns (point id, microseconds since 2000-01-01 UTC, value, quality): the
writer turns them into COPY rows and dirty buckets with NumPy in a few calls per batch, where
doing it per reading in Python cost more than decoding the JSON.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime

from services.ingest.copy_format import pg_microseconds
from services.ingest.decode import Rejection, Row


@dataclass(frozen=True)
class Delivery:
    """How to acknowledge one MQTT message: its packet id on the connection it came on."""

    generation: int
    mid: int
    qos: int
    size: int = 0  # payload bytes, for the in-flight bound


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    rejection: Rejection


@dataclass(frozen=True)
class Confirmation:
    """What to tell the device once its message is committed: `seq` on its ack topic."""

    topic: str
    seq: int


_Message = tuple[Delivery, str, list[int], list[Row], list[Rejection], Confirmation | None]


@dataclass
class Batch:
    started: float  # monotonic time of the first message
    seq: int = -1  # order among the batches handed to the writers, for acknowledgement
    deliveries: list[Delivery] = field(default_factory=list)
    point_ids: list[int] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    qualities: list[int] = field(default_factory=list)
    readings: list[Row] = field(default_factory=list)  # for dead letters of conflicts
    dead_letters: list[DeadLetter] = field(default_factory=list)
    newest_us_per_message: list[int] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    messages: list[_Message] = field(default_factory=list)  # to split a batch the DB refuses
    _ends: list[int] = field(default_factory=list)  # readings up to each message's end

    def add(
        self,
        delivery: Delivery,
        topic: str,
        point_ids: list[int],
        readings: list[Row],
        rejections: list[Rejection],
        confirmation: Confirmation | None = None,
    ) -> None:
        self.deliveries.append(delivery)
        self.messages.append((delivery, topic, point_ids, readings, rejections, confirmation))
        if confirmation is not None:
            self.confirmations.append(confirmation)
        if readings:
            # A device sends many points per timestamp: convert each instant once.
            known: dict[datetime, int] = {}
            ts_us = []
            for r in readings:
                us = known.get(r.ts)
                if us is None:
                    us = known[r.ts] = pg_microseconds(r.ts)
                ts_us.append(us)
            self.point_ids += point_ids
            self.ts_us += ts_us
            self.values += [r.v for r in readings]
            self.qualities += [r.q for r in readings]
            self.readings += readings
            self.newest_us_per_message.append(max(known.values()))
        self._ends.append(len(self.readings))
        self.dead_letters.extend(DeadLetter(topic, r) for r in rejections)

    def topic_of(self, n: int) -> str:
        """The topic of the message that carried reading `n`."""
        return self.messages[bisect.bisect_right(self._ends, n)][1]

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
