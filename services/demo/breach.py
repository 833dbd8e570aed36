"""The scripted breach: the stack's desulphurisation trips and SO2 goes far over its limit.

Timeline from the moment the fleet starts: `start_s` later SO2 jumps to `value` mg/m3 for
`duration_s`, then falls back to the simulated level; the alert fires, then resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Breach:
    site: str = "TY-CEMS-01"
    point: str = "SO2"
    start_s: float = 15.0
    duration_s: float = 240.0
    value: float = 180.0  # mg/m3; the ultra-low emission limit is 35

    def override(self, started: datetime) -> BreachOverride:
        begin = started + timedelta(seconds=self.start_s)
        return BreachOverride(
            self.point, begin, begin + timedelta(seconds=self.duration_s), self.value
        )


@dataclass(frozen=True)
class BreachOverride:
    point: str
    begin: datetime
    end: datetime
    value: float

    def __call__(self, point: str, now: datetime) -> float | None:
        if point == self.point and self.begin <= now < self.end:
            return self.value
        return None
