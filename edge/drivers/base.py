"""What every driver shares: the sink readings go to, and wall-clock aligned polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from edge.readings import EdgeReading

Sink = Callable[[str, Sequence[EdgeReading]], None]
"""Called with (driver name, readings); commits them to the durable queue."""


class Driver(Protocol):
    name: str

    async def run(self) -> None:
        """Read until cancelled; device errors are counted and retried, never raised."""


P = TypeVar("P")


def group_by_interval(points: Iterable[P], interval: Callable[[P], float]) -> dict[float, list[P]]:
    groups: dict[float, list[P]] = {}
    for p in points:
        groups.setdefault(interval(p), []).append(p)
    return groups


async def every(interval_s: float, tick: Callable[[datetime], Awaitable[None]]) -> None:
    """Call `tick(ts)` at each multiple of the interval on the wall clock (ts is that moment).

    Aligned ticks give every point of a plant the same timestamps (15-minute buckets line up);
    a tick that overruns skips the missed slots instead of piling up.
    """
    while True:
        now = time.time()
        slot = (int(now / interval_s) + 1) * interval_s
        await asyncio.sleep(max(0.0, slot - time.time()))
        await tick(datetime.fromtimestamp(slot, UTC))
