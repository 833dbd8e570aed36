"""The demo's budgets are consistent with what its simulator burns: a year of simulated use
(profile means × scale × GB/T 2589 equivalent coefficients, level-1 inputs less exports) lies
just under each enterprise's annual energy budget, so the gauge shows a plausible pace."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.sim.profiles import PROFILES
from energywatch.reference import load_reference
from energywatch.storage.balance import balance_sign

REGION = Path(__file__).resolve().parents[3] / "services" / "demo" / "region.yaml"


def _mean_rate(profile: str) -> float:
    """Mean hourly rate over a week (weekdays and a weekend), every 10 minutes."""
    start = datetime(2026, 11, 30)  # a Monday
    steps = 7 * 24 * 6
    shape = PROFILES[profile]
    return sum(shape.expected(start + timedelta(minutes=10 * i)) for i in range(steps)) / steps


def _tce_per_unit() -> dict[str, float]:
    rows = load_reference().coal
    return {r.measure: r.kgce_per_unit / 1000 for r in rows if r.basis == "equivalent"}


def _annual_tce(site: dict[str, Any], tce_per_unit: dict[str, float]) -> float:
    total = 0.0
    for device in site["devices"]:
        for point in device["points"]:
            sim = point.get("sim") or {}
            profile = sim.get("profile")
            sign = balance_sign(point.get("role", "consumption"), point.get("metering_level", 1))
            if not sign or profile not in PROFILES or not PROFILES[profile].cumulative:
                continue
            rate = _mean_rate(profile) * sim.get("scale", 1.0)
            total += sign * rate * 8760 * tce_per_unit[point["measure"]]
    return total


ENTERPRISES = [
    s for s in yaml.safe_load(REGION.read_text("utf-8"))["sites"] if s["kind"] == "enterprise"
]


@pytest.mark.parametrize("site", ENTERPRISES, ids=[s["code"] for s in ENTERPRISES])
def test_budget_is_a_little_above_a_simulated_year(site: dict[str, Any]) -> None:
    annual = _annual_tce(site, _tce_per_unit())
    assert annual > 0
    assert 1.05 <= site["energy_budget_tce"] / annual <= 1.25, annual
