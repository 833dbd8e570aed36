"""Simulated meters and analysers, usable as a library (the demo) and as an edge driver.

from edge.sim import SimPoint, simulate
points = [SimPoint("E01", "electricity_kwh"), SimPoint("SO2", "so2_mg_m3", faults_per_day=2)]
for reading in simulate(points, start, end, timedelta(minutes=1), seed=7):
    ...  # EdgeReading(point, ts_ms, value, quality), in time order
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from edge.readings import EdgeReading, to_ms
from edge.sim.points import PointSimulator, SimPoint, SimSample
from edge.sim.profiles import PROFILES, Profile

__all__ = ["PROFILES", "PointSimulator", "Profile", "SimPoint", "SimSample", "simulate"]


def simulate(
    points: Sequence[SimPoint],
    start: datetime,
    end: datetime,
    interval: timedelta,
    seed: int = 1,
) -> Iterator[EdgeReading]:
    """Readings of every point at start, start + interval, ... < end (silent faults skip)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (profiles follow local time)")
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    sims = [PointSimulator(p, seed) for p in points]
    ts = start
    while ts < end:
        ms = to_ms(ts)
        for sim in sims:
            sample = sim.step(ts)
            if sample is not None:
                yield EdgeReading(sim.point.code, ms, sample.value, int(sample.quality))
        ts += interval
