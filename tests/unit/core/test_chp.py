"""Supply coal rate of a CHP plant by DL/T 904's heat-ratio method (energywatch/core/chp.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from energywatch.core.chp import heat_ratio, rolling_chp_supply_coal_rate, supply_coal_rate

QUARTER = 900_000


def test_the_heat_ratio_takes_the_heats_share_of_the_fuel_out() -> None:
    # docs/computation.md: 1,392.885 tce, 12,000 of 39,000 GJ supplied as heat, 3 GWh supplied
    rate = supply_coal_rate(
        np.array([1392.885]), np.array([12000.0]), np.array([39000.0]), np.array([3e6]), 1.0, 0.0
    )
    assert rate[0] == pytest.approx(1392.885 * 27 / 39 * 1e6 / 3e6, rel=1e-12)
    # no heat supplied: all the coal is power's
    no_heat = supply_coal_rate(
        np.array([1000.0]), np.array([0.0]), np.array([39000.0]), np.array([3e6]), 1.0, 0.0
    )
    assert no_heat[0] == pytest.approx(1000.0 * 1e6 / 3e6)


def test_guards_give_nan_not_wild_figures() -> None:
    assert math.isnan(heat_ratio(np.array([5.0]), np.array([0.0]), 0.0)[0])
    stopped = supply_coal_rate(
        np.array([10.0]), np.array([1.0]), np.array([2.0]), np.array([0.5]), 1.0, 0.0
    )
    assert math.isnan(stopped[0])


def test_the_window_sums_before_it_divides() -> None:
    # two buckets with different heat ratios: the window's alpha is of the sums, not the mean
    ts = np.array([0, QUARTER], dtype=np.int64)
    offsets = np.array([0, 2], dtype=np.int64)
    rate = rolling_chp_supply_coal_rate(
        offsets,
        ts,
        np.array([100.0, 100.0]),
        np.array([10.0, 50.0]),
        np.array([100.0, 100.0]),
        np.array([1e5, 1e5]),
        2 * QUARTER,
        1.0,
        0.0,
    )
    assert rate[1] == pytest.approx(200.0 * (1 - 60.0 / 200.0) * 1e6 / 2e5, rel=1e-12)
