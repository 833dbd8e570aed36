from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edge.sim import PROFILES, PointSimulator, SimPoint, simulate
from energywatch.protocol import Quality

CST = timezone(timedelta(hours=8))
DAY = datetime(2026, 11, 18, tzinfo=CST)  # a Wednesday


def run(points: list[SimPoint], hours: float, step_min: float = 1, seed: int = 7) -> list:
    return list(
        simulate(points, DAY, DAY + timedelta(hours=hours), timedelta(minutes=step_min), seed)
    )


def test_same_seed_same_readings_other_seed_other_readings() -> None:
    points = [SimPoint("E01", "electricity_kwh"), SimPoint("SO2", "so2_mg_m3", faults_per_day=4)]
    assert run(points, 6) == run(points, 6)
    assert run(points, 6) != run(points, 6, seed=8)


def test_electricity_load_is_diurnal() -> None:
    values = {r.ts_ms: r.value for r in run([SimPoint("P", "electricity_kw")], 24, step_min=5)}

    def mean_between(h0: int, h1: int) -> float:
        lo = int((DAY + timedelta(hours=h0)).timestamp() * 1000)
        hi = int((DAY + timedelta(hours=h1)).timestamp() * 1000)
        sel = [v for t, v in values.items() if lo <= t < hi]
        return sum(sel) / len(sel)

    assert mean_between(14, 17) > 1.3 * mean_between(1, 4)


def test_ambient_co2_is_higher_before_dawn_than_in_the_afternoon() -> None:
    values = [r.value for r in run([SimPoint("C", "co2_ppm")], 24, step_min=10)]
    dawn, afternoon = values[30:36], values[96:102]  # 05:00-06:00 and 16:00-17:00
    assert min(dawn) > max(afternoon)
    assert all(400 < v < 480 for v in values)


def test_cumulative_register_rolls_over_and_resets() -> None:
    sim = PointSimulator(
        SimPoint("E", "electricity_kwh", rollover=10_000, resets_per_day=3), seed=1
    )
    prev = None
    drops = 0
    for minute in range(0, 3 * 24 * 60, 5):
        sample = sim.step(DAY + timedelta(minutes=minute))
        assert sample is not None
        assert 0 <= sample.value < 10_000
        if prev is not None and sample.value < prev:
            drops += 1
        prev = sample.value
    # ~2000 kW for 72 h = ~144 MWh over a 10 MWh register: ~14 rollovers, plus resets
    assert drops >= 10


def test_faults_give_invalid_or_missing_readings() -> None:
    out = run([SimPoint("S", "so2_mg_m3", faults_per_day=20)], 48)
    qualities = {r.quality for r in out}
    assert int(Quality.INVALID) in qualities
    assert len(out) < 48 * 60, "some minutes are silent"


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        SimPoint("X", "unobtainium")
    assert "steam_t" in PROFILES and "nox_mg_m3" in PROFILES
