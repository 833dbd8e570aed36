import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from energywatch.core.buckets import (
    BUCKET_MS,
    bucket_counts,
    bucket_sums,
)
from energywatch.core.counters import counter_deltas
from energywatch.core.twins import buckets as twin
from energywatch.core.twins.counters import counter_steps
from tests.unit.core.strategies import Batch, batches, property_test, rollover_array

W = BUCKET_MS


def one_interval(start: int, end: int, delta: float, origin: int = 0, n: int = 4):
    offsets = np.array([0, 1], dtype=np.int64)
    return bucket_sums(offsets, np.array([start]), np.array([end]), np.array([delta]), origin, n)[0]


def test_delta_spanning_buckets_is_apportioned_by_time() -> None:
    # 10 units from 00:10 to 00:40: 5 min in bucket 0, 15 in bucket 1, 10 in bucket 2
    row = one_interval(10 * 60_000, 40 * 60_000, 10.0)
    np.testing.assert_allclose(row, [10 / 6, 5.0, 10 / 3, 0.0])


def test_reading_on_a_boundary_closes_the_bucket_before_it() -> None:
    assert one_interval(0, W, 3.0).tolist() == [3.0, 0.0, 0.0, 0.0]
    assert one_interval(W, W, 3.0).tolist() == [3.0, 0.0, 0.0, 0.0]  # zero-length report


def test_parts_outside_the_grid_are_left_out() -> None:
    row = one_interval(-W, W, 4.0, n=4)
    np.testing.assert_allclose(row, [2.0, 0.0, 0.0, 0.0])


def test_counts_leave_out_invalid_readings() -> None:
    offsets = np.array([0, 5], dtype=np.int64)
    ts = np.array([0, 300_000, 600_000, W, W + 300_000], dtype=np.int64)  # 5-minute meter
    values = np.array([1.0, math.nan, 3.0, 4.0, 5.0])
    counts = bucket_counts(offsets, ts, values, 0, 2)
    # The reading at 0 closes the bucket before the grid; the one at W closes bucket 0.
    assert counts.tolist() == [[2, 1]]


def test_the_report_at_midnight_counts_in_the_day_it_closes() -> None:
    day = 96 * W
    ts = np.arange(W, day + 1, W, dtype=np.int64)  # interval reports 00:15 ... 24:00
    counts = bucket_counts(np.array([0, ts.size]), ts, np.ones(ts.size), 0, 2 * 96)
    assert counts[0, :96].sum() == 96 and counts[0, 96:].sum() == 0


def grid_for(batch: Batch, shift: int, extra: int) -> tuple[int, int]:
    lo = min(batch.ts, default=0)
    hi = max(batch.ts, default=0)
    origin = (lo // W) * W + shift * W
    return origin, max(1, (hi - origin) // W + 1 + extra)


@property_test
@given(batches(), st.integers(-1, 2), st.integers(-3, 2))
def test_bucket_sums_equal_twin(batch: Batch, shift: int, extra: int) -> None:
    s = batch.series()
    delta, start, _ = counter_deltas(s.offsets, s.ts, s.values, rollover_array(batch))
    origin, n = grid_for(batch, shift, extra)
    grid = bucket_sums(s.offsets, start, s.ts, delta, origin, n)
    for sid, readings in enumerate(batch.sorted_per_series()):
        steps = counter_steps(readings, batch.rollover[sid], 0.1, 0.5)
        intervals = [(st_.start, t, st_.delta) for st_, (t, _) in zip(steps, readings, strict=True)]
        expected = twin.bucket_sums(intervals, origin, W, n)
        scale = max([abs(d) for _, _, d in intervals], default=1.0)
        np.testing.assert_allclose(grid[sid], expected, rtol=1e-9, atol=1e-9 * scale)


@property_test
@given(batches())
def test_a_grid_covering_everything_keeps_every_unit(batch: Batch) -> None:
    s = batch.series()
    delta, start, _ = counter_deltas(s.offsets, s.ts, s.values, rollover_array(batch))
    origin, n = grid_for(batch, -(10**3), 10**3 + 20)  # start far before the earliest reading
    grid = bucket_sums(s.offsets, start, s.ts, delta, origin, n)
    np.testing.assert_allclose(
        grid.sum(axis=1),
        [math.fsum(delta[s.offsets[i] : s.offsets[i + 1]]) for i in range(s.n_series)],
        rtol=1e-9,
        atol=1e-6,
    )


@property_test
@given(batches(), st.integers(-1, 1), st.integers(-2, 2))
def test_counts_equal_twin(batch: Batch, shift: int, extra: int) -> None:
    s = batch.series()
    origin, n = grid_for(batch, shift, extra)
    counts = bucket_counts(s.offsets, s.ts, s.values, origin, n)
    for sid, readings in enumerate(batch.sorted_per_series()):
        assert counts[sid].tolist() == twin.bucket_counts(readings, origin, W, n)
