"""Twin of core.counters: one series, plain Python."""

from __future__ import annotations

import math
from dataclasses import dataclass

from energywatch.core import flags as fl


@dataclass(frozen=True)
class Step:
    delta: float
    start: int
    flags: int


def counter_steps(
    readings: list[tuple[int, float]],
    rollover: float | None,
    reset_share: float,
    wrap_share: float,
) -> list[Step]:
    """`readings` sorted by time: (ts, value) -> one Step per reading."""
    steps: list[Step] = []
    ref: float | None = None
    ref_ts = 0
    for ts, v in readings:
        if math.isnan(v):
            steps.append(Step(0.0, ts, fl.MISSING))
            continue
        if ref is None:
            steps.append(Step(0.0, ts, fl.FIRST))
            ref, ref_ts = v, ts
            continue
        start, ref_ts = ref_ts, ts
        if v >= ref:
            steps.append(Step(v - ref, start, 0))
            ref = v
            continue
        drop = ref - v
        if drop <= reset_share * abs(ref):
            steps.append(Step(0.0, start, fl.NEGATIVE))  # reference stays at the high value
            continue
        r = math.nan if rollover is None else rollover
        wrapped = r - ref + v
        if r > 0 and v >= 0 and ref <= r and wrapped <= wrap_share * r:  # False for NaN
            steps.append(Step(wrapped, start, fl.ROLLOVER))
        else:
            steps.append(Step(max(v, 0.0), start, fl.RESET))
        ref = v
    return steps
