"""Simulator driver: simulated meters and analysers read on the wall clock (see edge.sim)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from edge.config import SimPointConfig, SimulatorDriverConfig
from edge.drivers.base import Sink, every, group_by_interval
from edge.readings import EdgeReading, to_ms
from edge.sim import PointSimulator, SimPoint


def sim_point(p: SimPointConfig) -> SimPoint:
    return SimPoint(
        code=p.point,
        profile=p.profile,
        scale=p.scale,
        rollover=p.rollover,
        resets_per_day=p.resets_per_day,
        faults_per_day=p.faults_per_day,
    )


class SimulatorDriver:
    def __init__(self, config: SimulatorDriverConfig, sink: Sink, tz: timezone) -> None:
        self.name = config.name
        self.config = config
        self.sink = sink
        self.tz = tz
        self.sims = {p.point: PointSimulator(sim_point(p), config.seed) for p in config.points}

    async def run(self) -> None:
        groups = group_by_interval(self.config.points, lambda p: p.interval_s)
        async with asyncio.TaskGroup() as tg:
            for interval, points in groups.items():
                tg.create_task(every(interval, self._ticker([p.point for p in points])))

    def _ticker(self, codes: list[str]) -> Callable[[datetime], Awaitable[None]]:
        async def tick(ts: datetime) -> None:
            self.sink(self.name, self.read(codes, ts))

        return tick

    def read(self, codes: list[str], ts: datetime) -> list[EdgeReading]:
        local = ts.astimezone(self.tz)  # profiles follow the plant's local time
        ms = to_ms(ts)
        out = []
        for code in codes:
            sample = self.sims[code].step(local)
            if sample is not None:
                out.append(EdgeReading(code, ms, sample.value, int(sample.quality)))
        return out
