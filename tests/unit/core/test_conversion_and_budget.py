import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from energywatch.core.budget import budget_status
from energywatch.core.conversion import convert
from energywatch.core.twins import budget as budget_twin
from energywatch.core.twins import conversion as conversion_twin
from tests.unit.core.strategies import property_test

# meter-like figures: thousandths, no subnormal numbers
FINITE = st.integers(-(10**12), 10**12).map(lambda x: x / 1000)
SHARE = st.integers(-100, 1100).map(lambda x: x / 1000)


@property_test
@given(
    st.lists(st.tuples(st.floats(0, 1e9) | st.just(math.nan), st.integers(0, 3)), max_size=50),
    st.lists(st.floats(0, 10, allow_nan=False), min_size=4, max_size=4),
    st.lists(st.floats(0, 10, allow_nan=False), min_size=4, max_size=4),
)
def test_convert_equals_twin(rows, tce_coef, co2_coef) -> None:
    q = np.array([r[0] for r in rows], dtype=np.float64)
    idx = np.array([r[1] for r in rows], dtype=np.int64)
    tce, tco2 = convert(q, idx, np.array(tce_coef), np.array(co2_coef))
    want_tce, want_co2 = conversion_twin.convert(q.tolist(), idx.tolist(), tce_coef, co2_coef)
    np.testing.assert_array_equal(tce, want_tce)
    np.testing.assert_array_equal(tco2, want_co2)


def test_convert_refuses_an_index_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        convert(np.ones(2), np.array([0, 2]), np.ones(2), np.ones(2))


def test_budget_worked_figures() -> None:
    # a quarter of the year gone and metered, 3,000 tce used of 10,000
    st_ = budget_status(np.array([3000.0]), np.array([10000.0]), np.array([0.25]))
    assert st_.share_used[0] == pytest.approx(0.3)
    assert st_.prorated_budget[0] == pytest.approx(2500.0)
    assert st_.pace[0] == pytest.approx(1.2)
    assert st_.projection[0] == pytest.approx(12000.0)
    assert st_.projected_share[0] == pytest.approx(1.2)


def test_projection_from_the_span_the_data_cover() -> None:
    # docs/computation.md, "Budget status and projection": a plant monitored for the last
    # 10 days of a year 340/365 gone, 26,000 tce metered (2,600 tce a day), budget 950,000 tce
    st_ = budget_status(
        np.array([26_000.0]),
        np.array([950_000.0]),
        np.array([340 / 365]),
        covered=np.array([10 / 365]),
    )
    assert st_.projection[0] == pytest.approx(2_600 * 365)  # the year at 2,600 tce a day
    assert st_.projected_share[0] == pytest.approx(2_600 * 365 / 950_000)
    assert st_.prorated_budget[0] == pytest.approx(950_000 * 10 / 365)
    assert st_.pace[0] == pytest.approx(2_600 * 365 / 950_000)


def test_data_too_short_to_project() -> None:
    # 12 hours of data: share used, no pace and no projection
    st_ = budget_status(
        np.array([1300.0]), np.array([950_000.0]), np.array([0.9]), covered=np.array([0.5 / 365])
    )
    assert st_.share_used[0] == pytest.approx(1300 / 950_000)
    assert math.isnan(st_.projection[0]) and math.isnan(st_.pace[0])
    assert math.isnan(st_.projected_share[0])


def test_covered_beyond_elapsed_is_clipped() -> None:
    a = budget_status(np.array([50.0]), np.array([100.0]), np.array([0.5]), covered=np.array([0.9]))
    b = budget_status(np.array([50.0]), np.array([100.0]), np.array([0.5]))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@property_test
@given(
    st.lists(
        st.tuples(FINITE, FINITE | st.just(math.nan), SHARE, SHARE),
        max_size=30,
    ),
    st.sampled_from([0.0, 1 / 365, 0.1]),
)
def test_budget_equals_twin(rows, min_covered: float) -> None:
    ytd, budget, elapsed, covered = (
        np.array([r[i] for r in rows], dtype=np.float64) for i in range(4)
    )
    got = budget_status(ytd, budget, elapsed, min_covered, covered)
    for i, row in enumerate(rows):
        ytd_i, budget_i, elapsed_i, covered_i = row
        want = budget_twin.budget_status(ytd_i, budget_i, elapsed_i, min_covered, covered_i)
        for field, w in zip(got, want, strict=True):
            np.testing.assert_allclose(field[i], w, rtol=1e-12, equal_nan=True)
