import numpy as np
import pytest
from hypothesis import given

from energywatch.core.series import build_series, offsets_from_sorted_ids
from tests.unit.core.strategies import Batch, batches, property_test


def test_sorts_by_series_then_time_and_keeps_the_last_delivery() -> None:
    s = build_series([1, 0, 1, 0, 1], [30, 20, 10, 20, 30], [1.0, 2.0, 3.0, 4.0, 5.0], 3)
    assert s.offsets.tolist() == [0, 1, 3, 3]
    assert s.ts.tolist() == [20, 10, 30]
    assert s.values.tolist() == [4.0, 3.0, 5.0]  # (0, 20) and (1, 30) delivered twice


def test_refuses_ids_out_of_range() -> None:
    with pytest.raises(ValueError, match="series ids"):
        build_series([0, 3], [1, 2], [1.0, 2.0], 3)


def test_offsets_of_empty_series() -> None:
    assert offsets_from_sorted_ids([], 2).tolist() == [0, 0, 0]


@property_test
@given(batches())
def test_layout_equals_obvious_sort(batch: Batch) -> None:
    s = batch.series()
    for sid, expected in enumerate(batch.sorted_per_series()):
        ts, values = s.of(sid)
        assert ts.tolist() == [t for t, _ in expected]
        np.testing.assert_array_equal(values, [v for _, v in expected])
