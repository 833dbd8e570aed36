import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from energywatch.core.indicators import rolling_intensity, rolling_pue, rolling_supply_coal_rate
from energywatch.core.rolling import rolling_ratio, rolling_sum
from energywatch.core.series import build_series
from energywatch.core.twins import rolling as twin
from tests.unit.core.strategies import Batch, batches, property_test

WINDOWS = st.sampled_from([1, 60_000, 900_000, 3_600_000, 86_400_000])


def test_window_is_open_on_the_left_and_closed_on_the_right() -> None:
    s = build_series([0, 0, 0, 0], [0, 10, 20, 20], [1.0, 2.0, 4.0, 8.0], 1)
    # (0, 20] and a duplicate at 20 replaced by the last delivery (8.0)
    assert rolling_sum(s.offsets, s.ts, s.values, 10).tolist() == [1.0, 2.0, 8.0]
    assert rolling_sum(s.offsets, s.ts, s.values, 11).tolist() == [1.0, 3.0, 10.0]


def test_compensated_sum_survives_large_and_small_values() -> None:
    ts = np.arange(4, dtype=np.int64)
    values = np.array([1e16, 1.0, -1e16, 1.0])
    out = rolling_sum(np.array([0, 4], dtype=np.int64), ts, values, 10)
    assert out.tolist() == [1e16, 1e16 + 1.0, 1.0, 2.0]


@property_test
@given(batches(), WINDOWS)
def test_rolling_sum_equals_twin(batch: Batch, window: int) -> None:
    s = batch.series()
    out = rolling_sum(s.offsets, s.ts, s.values, window)
    for sid, readings in enumerate(batch.sorted_per_series()):
        expected = twin.rolling_sum(readings, window)
        scale = max([abs(v) for _, v in readings if not math.isnan(v)], default=1.0)
        np.testing.assert_allclose(
            out[s.offsets[sid] : s.offsets[sid + 1]], expected, rtol=1e-12, atol=1e-12 * scale
        )


@property_test
@given(batches(), WINDOWS, st.sampled_from([0.0, 1.0, 1e3]), st.sampled_from([1.0, 1e3]))
def test_rolling_ratio_equals_twin(batch: Batch, window: int, guard: float, scale: float) -> None:
    s = batch.series()
    # a second column derived from the first so that near-zero sums occur
    den = np.where(np.arange(s.values.size) % 3 == 0, 0.0, s.values[::-1].copy())
    out = rolling_ratio(s.offsets, s.ts, s.values, den, window, guard, scale)
    for sid in range(s.n_series):
        a, b = s.offsets[sid], s.offsets[sid + 1]
        rows = list(zip(s.ts[a:b].tolist(), s.values[a:b].tolist(), den[a:b].tolist(), strict=True))
        expected = np.array(twin.rolling_ratio(rows, window, guard, scale))
        got = out[a:b]
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        # sums that cancel to ~0 are exact only to a few ulps of the magnitudes summed
        magnitude = np.array(twin.rolling_sum([(t, abs(n)) for t, n, _ in rows], window))
        dens = np.array(twin.rolling_sum([(t, d) for t, _, d in rows], window))
        ok = ~np.isnan(expected)
        tolerance = 1e-9 * np.abs(expected[ok]) + 1e-12 * scale * magnitude[ok] / np.abs(dens[ok])
        assert np.all(np.abs(got[ok] - expected[ok]) <= tolerance)


def test_named_indicators() -> None:
    offsets = np.array([0, 3], dtype=np.int64)
    ts = np.array([0, 900_000, 1_800_000], dtype=np.int64)
    hour = 3_600_000
    # 2 tce for 10 t, then 1 tce for 0 t (a stopped line), then 3 tce for 10 t
    intensity = rolling_intensity(
        offsets, ts, np.array([2.0, 1.0, 3.0]), np.array([10.0, 0.0, 10.0]), hour, 0.5
    )
    np.testing.assert_allclose(intensity, [200.0, 300.0, 300.0])
    assert math.isnan(rolling_intensity(offsets, ts, np.ones(3), np.zeros(3), hour, 0.5)[0])
    pue = rolling_pue(offsets, ts, np.array([12.0, 12.0, 12.0]), np.full(3, 10.0), hour, 1.0)
    np.testing.assert_allclose(pue, 1.2)
    rate = rolling_supply_coal_rate(offsets, ts, np.full(3, 0.3), np.full(3, 1000.0), hour, 1.0)
    np.testing.assert_allclose(rate, 300.0)  # 0.3 tce per 1000 kWh = 300 gce/kWh
