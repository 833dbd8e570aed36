"""The reading as drivers produce it and the queue stores it."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from energywatch.protocol import Quality


class EdgeReading(NamedTuple):
    """One value of one point; `ts_ms` is Unix time in milliseconds (UTC)."""

    point: str
    ts_ms: int
    value: float
    quality: int = Quality.GOOD


def to_ms(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return round(ts.timestamp() * 1000)
