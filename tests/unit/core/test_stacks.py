"""Stack arithmetic: oxygen correction, validity of hourly and daily means, amounts."""

from __future__ import annotations

import numpy as np
import pytest

from energywatch.core.stacks import (
    HOUR_MS,
    MINUTE_MS,
    basis_of,
    block_means,
    corrected_to_reference_o2,
    flag_bands,
    hourly_means,
    join_minutes,
    judged_minutes,
    pick_source,
    rebased,
    required_minutes,
    window_mean,
)


def test_correction_raises_a_diluted_value_and_refuses_air():
    measured = np.full(4, 40.0)
    out = corrected_to_reference_o2(measured, np.array([9.0, 6.0, 21.0, np.nan]), 6.0)
    assert out[0] == pytest.approx(50.0)  # 40 x 15 / 12
    assert out[1] == pytest.approx(40.0)  # at the reference O2 nothing changes
    assert np.isnan(out[2]) and np.isnan(out[3])


def test_rebased_equals_correcting_the_measured_value_directly():
    measured, o2 = np.array([30.0, 12.5]), np.array([8.0, 11.0])
    at6 = corrected_to_reference_o2(measured, o2, 6.0)
    at16 = corrected_to_reference_o2(measured, o2, 16.0)
    np.testing.assert_allclose(rebased(at6, 6.0, 16.0), at16, rtol=1e-12)


def test_an_hour_needs_45_valid_minutes():
    start = 1_796_688_000_000
    for n, has_mean in ((44, False), (45, True)):
        at = start + np.arange(n) * MINUTE_MS
        hour = hourly_means(at, np.full(n, 10.0))
        assert hour.members.tolist() == [n]
        assert bool(hour.mean[0] == 10.0) is has_mean
    assert required_minutes(HOUR_MS) == 45
    assert required_minutes(MINUTE_MS) == 1
    assert np.isnan(window_mean(np.full(44, 50.0), HOUR_MS).mean)
    assert window_mean(np.r_[np.full(45, 50.0), np.nan], HOUR_MS) == (50.0, 45, 45)


def test_blocks_follow_local_time_and_skip_nan_members():
    offset = 8 * HOUR_MS  # China: a day starts at 16:00 UTC
    ts = np.array([15, 16, 17]) * HOUR_MS
    out = block_means(ts, np.array([1.0, 2.0, np.nan]), 24 * HOUR_MS, 1, offset)
    assert out.start.tolist() == [-offset, 16 * HOUR_MS]
    assert out.mean.tolist() == [1.0, 2.0] and out.members.tolist() == [1, 1]


def test_join_minutes_keeps_the_common_minutes():
    common, ia, ib = join_minutes(np.array([0, 60, 120]), np.array([60, 120, 180]))
    assert common.tolist() == [60, 120] and ia.tolist() == [1, 2] and ib.tolist() == [0, 1]


def test_the_loggers_value_at_the_reference_o2_is_picked_first():
    assert pick_source([None, 16.0, 6.0], 6.0) == 2
    assert pick_source([None, 16.0], 6.0) == 1  # restated from 16 %
    assert pick_source([None], 6.0) == 0  # corrected from the O2 point


def test_judged_minutes_keep_only_minutes_with_a_valid_o2():
    judged = judged_minutes(
        "o2_corrected",
        np.array([0, 60_000, 120_000]),
        np.array([40.0, 40.0, 40.0]),
        6.0,
        o2_minute=np.array([60_000, 120_000]),
        o2_values=np.array([9.0, 6.0]),
    )
    assert judged.minute.tolist() == [60_000, 120_000]
    np.testing.assert_allclose(judged.value, [50.0, 40.0])
    assert judged.o2 is not None and judged.o2.tolist() == [9.0, 6.0]
    assert np.isnan(judged_minutes("no_o2", np.array([0]), np.array([1.0]), 6.0).value[0])


def test_flag_bands_merge_consecutive_minutes_of_one_quality():
    m = np.array([0, 1, 2, 5, 6], dtype=np.int64) * MINUTE_MS
    q = np.array([2, 2, 3, 2, 2], dtype=np.int64)
    assert flag_bands(m, q) == [
        (0, 2 * MINUTE_MS, 2),
        (2 * MINUTE_MS, 3 * MINUTE_MS, 3),
        (5 * MINUTE_MS, 7 * MINUTE_MS, 2),
    ]


def test_basis_follows_the_picked_point_and_the_o2_analyser():
    assert basis_of(6.0, True) == "logger_corrected"
    assert basis_of(None, True) == "o2_corrected"
    assert basis_of(None, False) == "no_o2"
