"""Checks every reading passes before it enters the durable queue.

A reading the publisher cannot encode would otherwise sit at the head of the queue for good
(a data logger that sent `DataTime=00010101000000` stopped a gateway): drivers and the agent's
sink refuse such readings with a counted reason instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.readings import EdgeReading
from energywatch.protocol import Quality

EARLIEST_MS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
_QUALITIES = frozenset(int(q) for q in Quality)


@dataclass(frozen=True)
class ReadingChecks:
    """`max_future_s`: how far ahead of this gateway's clock a device clock may run."""

    max_future_s: float = 86_400.0
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def refusal(self, r: EdgeReading) -> tuple[str, str] | None:
        """(reason, detail) if the reading must not be queued, else None."""
        if not math.isfinite(r.value):
            return "not_finite", f"{r.point}: value {r.value}"
        if r.ts_ms < EARLIEST_MS:
            return "timestamp", f"{r.point}: {r.ts_ms} ms is before 2000-01-01"
        latest = (self.clock() + self.max_future_s) * 1000
        if r.ts_ms > latest:
            return (
                "timestamp",
                f"{r.point}: {r.ts_ms} ms is more than {self.max_future_s:.0f} s ahead",
            )
        if r.quality not in _QUALITIES:
            return "quality", f"{r.point}: quality {r.quality} is not a known code"
        return None
