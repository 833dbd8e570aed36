import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from energywatch.core import flags as fl
from energywatch.core.counters import counter_deltas, interval_deltas
from energywatch.core.series import build_series
from energywatch.core.twins.counters import counter_steps
from tests.unit.core.strategies import Batch, batches, property_test, rollover_array


def one_series(values: list[float], rollover: float = math.nan, **kw: float):
    s = build_series([0] * len(values), [i * 60_000 for i in range(len(values))], values, 1)
    return counter_deltas(s.offsets, s.ts, s.values, np.array([rollover]), **kw)


def test_rise_dip_reset_rollover_and_missing() -> None:
    # 100 -> 110 rise; 109.5 small dip; 115 rises from the high value 110; NaN skipped;
    # 20 is a reset (drop > 10%); 995 then 3 wraps a register rolling over at 1000.
    delta, start, flags = one_series(
        [100.0, 110.0, 109.5, 115.0, math.nan, 20.0, 995.0, 3.0], rollover=1000.0
    )
    assert delta.tolist() == [0.0, 10.0, 0.0, 5.0, 0.0, 20.0, 975.0, 8.0]
    assert flags.tolist() == [
        fl.FIRST,
        0,
        fl.NEGATIVE,
        0,
        fl.MISSING,
        fl.RESET,
        0,
        fl.ROLLOVER,
    ]
    # the reset's interval starts at the last valid reading, across the missing one
    assert start[5] == 3 * 60_000


def test_drop_far_from_the_rollover_value_is_a_reset() -> None:
    delta, _, flags = one_series([500.0, 2.0], rollover=1000.0)
    assert flags[1] == fl.RESET and delta[1] == 2.0


def test_reset_share_is_configurable() -> None:
    _, _, flags = one_series([100.0, 85.0], reset_share=0.2)
    assert flags[1] == fl.NEGATIVE
    _, _, flags = one_series([100.0, 85.0], reset_share=0.1)
    assert flags[1] == fl.RESET


def test_jitter_adds_no_phantom_consumption() -> None:
    delta, _, _ = one_series([1000.0, 999.9, 1000.0, 999.9, 1000.0, 1001.0])
    assert math.isclose(delta.sum(), 1.0)


def test_interval_meters_place_each_report_at_its_own_time() -> None:
    ts = np.array([0, 900_000, 2_700_000], dtype=np.int64)
    delta, start, flags = interval_deltas(ts, np.array([5.0, -1.0, math.nan]))
    assert delta.tolist() == [5.0, 0.0, 0.0]
    assert start.tolist() == ts.tolist()
    assert flags.tolist() == [0, fl.NEGATIVE, fl.MISSING]


@property_test
@given(batches(), st.sampled_from([0.05, 0.1, 0.3]), st.sampled_from([0.3, 0.5, 0.9]))
def test_kernel_equals_twin(batch: Batch, reset_share: float, wrap_share: float) -> None:
    s = batch.series()
    delta, start, flags = counter_deltas(
        s.offsets, s.ts, s.values, rollover_array(batch), reset_share, wrap_share
    )
    for sid, readings in enumerate(batch.sorted_per_series()):
        steps = counter_steps(readings, batch.rollover[sid], reset_share, wrap_share)
        a, b = s.offsets[sid], s.offsets[sid + 1]
        assert delta[a:b].tolist() == [st_.delta for st_ in steps]
        assert start[a:b].tolist() == [st_.start for st_ in steps]
        assert flags[a:b].tolist() == [st_.flags for st_ in steps]


@property_test
@given(batches())
def test_consumption_is_never_negative_and_never_nan(batch: Batch) -> None:
    s = batch.series()
    delta, start, _ = counter_deltas(s.offsets, s.ts, s.values, rollover_array(batch))
    assert np.all(delta >= 0.0)
    assert np.all(start <= s.ts)
