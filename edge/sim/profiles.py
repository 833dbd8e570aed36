"""Typical shapes of plant and station signals: pure functions of local time.

Each profile gives the "expected" value at a moment (a rate for cumulative meters, a level for
analysers) for scale 1; the point simulator adds noise, faults and register behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def working_day(ts: datetime) -> float:
    """0..1 activity of a day-shift workforce: morning and afternoon peaks, lunch dip."""
    h = ts.hour + ts.minute / 60
    shape = 0.9 * _bump(h, 10.0, 1.8) + 1.0 * _bump(h, 15.5, 2.0) - 0.25 * _bump(h, 12.3, 0.6)
    weekend = 0.7 if ts.weekday() >= 5 else 1.0
    return max(0.0, min(1.0, shape)) * weekend


def boundary_layer(ts: datetime) -> float:
    """0..1, high before dawn when the night-time boundary layer traps surface emissions."""
    h = ts.hour + ts.minute / 60
    return 0.5 + 0.5 * math.cos(2 * math.pi * (h - 5.5) / 24)


def rush_hours(ts: datetime) -> float:
    h = ts.hour + ts.minute / 60
    return _bump(h, 8.0, 1.0) + _bump(h, 18.0, 1.3)


@dataclass(frozen=True)
class Profile:
    name: str
    unit: str
    cumulative: bool  # a register (the rate below is per hour), else a level
    noise: float  # relative standard deviation of the AR(1) noise
    default_rollover: float | None = None

    def expected(self, ts: datetime) -> float:
        return _EXPECTED[self.name](ts)


# Process industry runs around the clock: base load plus a day-shift share.
_EXPECTED = {
    "electricity_kw": lambda t: 2000.0 * (0.6 + 0.4 * working_day(t)),
    "electricity_kwh": lambda t: 2000.0 * (0.6 + 0.4 * working_day(t)),
    "gas_m3": lambda t: 300.0 * (0.7 + 0.3 * working_day(t)),
    "steam_t": lambda t: 12.0 * (0.85 + 0.15 * working_day(t)),
    "coal_t": lambda t: 40.0,
    "product_t": lambda t: 25.0 * (0.9 + 0.1 * working_day(t)),
    "co2_ppm": lambda t: 420.0 + 25.0 * boundary_layer(t),
    "ch4_ppb": lambda t: 1990.0 + 80.0 * boundary_layer(t),
    "co_ppb": lambda t: 250.0 + 200.0 * rush_hours(t) + 60.0 * boundary_layer(t),
    "so2_mg_m3": lambda t: 18.0 + 4.0 * working_day(t),
    "nox_mg_m3": lambda t: 32.0 + 8.0 * working_day(t),
    "pm_mg_m3": lambda t: 4.0,
    "o2_pct": lambda t: 6.5 - 0.5 * working_day(t),
    "flue_gas_flow_m3h": lambda t: 450_000.0 * (0.8 + 0.2 * working_day(t)),
    "flue_gas_temp_c": lambda t: 48.0 + 3.0 * working_day(t),  # after wet desulphurisation
}

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("electricity_kw", "kW", False, 0.04),
        Profile("electricity_kwh", "kWh", True, 0.04, default_rollover=1_000_000.0),
        Profile("gas_m3", "m3", True, 0.05, default_rollover=100_000_000.0),
        Profile("steam_t", "t", True, 0.03, default_rollover=10_000_000.0),
        Profile("coal_t", "t", True, 0.08, default_rollover=10_000_000.0),
        Profile("product_t", "t", True, 0.05, default_rollover=10_000_000.0),
        Profile("co2_ppm", "ppm", False, 0.004),
        Profile("ch4_ppb", "ppb", False, 0.006),
        Profile("co_ppb", "ppb", False, 0.05),
        Profile("so2_mg_m3", "mg/m3", False, 0.12),
        Profile("nox_mg_m3", "mg/m3", False, 0.08),
        Profile("pm_mg_m3", "mg/m3", False, 0.2),
        Profile("o2_pct", "%", False, 0.03),
        Profile("flue_gas_flow_m3h", "m3/h", False, 0.03),
        Profile("flue_gas_temp_c", "°C", False, 0.02),
    )
}
assert set(PROFILES) == set(_EXPECTED)
