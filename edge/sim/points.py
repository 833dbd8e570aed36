"""One simulated point: profile + noise + register rollover and resets + faults.

Deterministic: the same seed, point and sequence of timestamps give the same values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.sim.profiles import PROFILES
from energywatch.protocol import Quality


@dataclass(frozen=True)
class SimPoint:
    """What the simulator needs to know about a point (the demo builds these from its sites)."""

    code: str
    profile: str
    scale: float = 1.0
    rollover: float | None = None  # None: the profile's default (cumulative profiles only)
    resets_per_day: float = 0.0  # register set back to zero (meter exchange, reset by staff)
    faults_per_day: float = 0.0  # a fault lasts minutes to an hour

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; known: {sorted(PROFILES)}")
        if self.scale <= 0:
            raise ValueError("scale must be positive")


@dataclass(frozen=True)
class SimSample:
    value: float
    quality: Quality


class PointSimulator:
    def __init__(self, point: SimPoint, seed: int) -> None:
        self.point = point
        self.profile = PROFILES[point.profile]
        self._rng = random.Random(f"{seed}:{point.code}")
        self.rollover = point.rollover or self.profile.default_rollover
        # Registers start somewhere in their range, so rollovers happen in a demo's lifetime.
        self.register = self._rng.uniform(0, self.rollover) * 0.95 if self.rollover else 0.0
        self._noise = 0.0
        self._last_ts: datetime | None = None
        self._fault_until: datetime | None = None
        self._fault_silent = False
        self._last_value = 0.0

    def step(self, ts: datetime) -> SimSample | None:
        """The sample at `ts` (later than the previous one), or None while the device is silent."""
        dt_s = 0.0 if self._last_ts is None else (ts - self._last_ts).total_seconds()
        if dt_s < 0:
            raise ValueError(f"{self.point.code}: time went backwards")
        self._last_ts = ts
        rng = self._rng
        # AR(1) noise with a correlation time of about ten minutes.
        keep = 0.5 ** (dt_s / 600.0) if dt_s else 1.0
        self._noise = keep * self._noise + (1 - keep**2) ** 0.5 * rng.gauss(0.0, 1.0)
        level = (
            self.point.scale * self.profile.expected(ts) * (1 + self.profile.noise * self._noise)
        )
        level = max(0.0, level)

        if self.profile.cumulative:
            self._advance_register(level * dt_s / 3600.0, dt_s)
            value = self.register
        else:
            value = level

        if self._fault_until is not None and ts >= self._fault_until:
            self._fault_until = None
        if self._fault_until is None and self._chance(self.point.faults_per_day, dt_s):
            self._fault_until = ts + _minutes(rng.uniform(5, 60))
            self._fault_silent = rng.random() < 0.5
        if self._fault_until is not None:
            if self._fault_silent:
                return None  # communication lost: nothing read
            return SimSample(self._last_value, Quality.INVALID)  # analyser stuck, flagged
        self._last_value = round(value, 3)
        return SimSample(self._last_value, Quality.GOOD)

    def _advance_register(self, delta: float, dt_s: float) -> None:
        if self._chance(self.point.resets_per_day, dt_s):
            self.register = 0.0
        self.register += delta
        if self.rollover and self.register >= self.rollover:
            self.register -= self.rollover

    def _chance(self, per_day: float, dt_s: float) -> bool:
        return per_day > 0 and dt_s > 0 and self._rng.random() < per_day * dt_s / 86400.0


def _minutes(m: float) -> timedelta:
    return timedelta(minutes=m)
