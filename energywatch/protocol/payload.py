"""JSON payloads published by edge agents.

A readings message carries many readings of one device:

    {"seq": 42, "backfill": false,
     "readings": [{"point": "E01", "ts": "2026-11-20T08:15:00+08:00", "v": 123456.7, "q": 0}]}
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import IntEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# A message larger than this is refused whole: it bounds ingest memory per message.
MAX_MESSAGE_BYTES = 1_048_576
MAX_READINGS_PER_MESSAGE = 10_000


class Quality(IntEnum):
    """Quality of one reading, as the device or the edge driver judged it."""

    GOOD = 0
    SUSPECT = 1  # e.g. a meter's own warning flag, out of calibration
    INVALID = 2  # analyser fault, maintenance, calibration (HJ 212 flags F, M, D, C, T, B)
    MANUAL = 3  # entered by hand (HJ 212 flag S)
    ESTIMATED = 4  # filled in by the edge, not measured


class Reading(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    point: str = Field(min_length=1, max_length=64)
    ts: AwareDatetime
    v: float
    q: Quality = Quality.GOOD
    u: str | None = Field(default=None, max_length=16, description="unit, checked if given")

    @field_validator("v")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


class ReadingsMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=0, description="per-device sequence number, increasing")
    backfill: bool = Field(default=False, description="replayed from the edge queue")
    readings: list[Reading] = Field(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)


class CommitAck(BaseModel):
    """Published by ingest on a device's `ack` topic once messages of that device are committed
    (stored or dead-lettered): the `seq` of each. An edge agent deletes a message's readings
    from its queue only then, not on the broker's PUBACK, which only says the broker has it."""

    model_config = ConfigDict(extra="ignore")

    committed: list[int] = Field(min_length=1)


class StatusMessage(BaseModel):
    """Birth message (online), last will (offline, set by the broker) and warnings."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["online", "offline"]
    ts: datetime | None = None
    agent_version: str | None = None
    queue_depth: int | None = None
    queue_fill: float | None = Field(default=None, ge=0.0, le=1.0)
    queue_dropped: int | None = Field(
        default=None, ge=0, description="readings the edge queue dropped, total of every reason"
    )
    queue_dropped_by_reason: dict[Literal["capacity", "disk_full"], int] | None = Field(
        default=None, description="queue_dropped by reason: full policy, full disk"
    )
    warnings: list[str] = Field(default_factory=list)
