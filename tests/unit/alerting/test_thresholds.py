"""The threshold/for/hysteresis kernel against its plain-Python twin, and the semantics."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from energywatch.core.thresholds import (
    FIRING,
    NODATA_ALERT,
    NODATA_KEEP,
    NODATA_OK,
    OK,
    PENDING,
    step_states,
    step_states_reference,
)

NAN = float("nan")


def run_series(
    values, thresholds, clear, for_ms, step_ms=1000, sign=1, nodata=NODATA_KEEP, fn=step_states
):
    """Drive one subject through a series; return the state after each step."""
    state = np.array([OK], np.int8)
    level = np.array([-1], np.int8)
    since = np.array([0], np.int64)
    out = []
    for k, v in enumerate(values):
        step = fn(
            np.array([v]),
            np.array([thresholds], np.float64),
            np.array([clear]),
            np.array([sign], np.int8),
            np.array([for_ms], np.int64),
            np.array([nodata], np.int8),
            state,
            level,
            since,
            k * step_ms,
        )
        state, level, since = step.state, step.level, step.since
        out.append((int(state[0]), int(level[0])))
    return out


def test_for_delays_firing_and_clear_level_resolves():
    states = run_series([5, 12, 12, 12, 9, 7], [NAN, 10, NAN], clear=8, for_ms=2000)
    assert [s for s, _ in states] == [OK, PENDING, PENDING, FIRING, FIRING, OK]
    assert states[3][1] == 1


def test_noisy_series_around_threshold_does_not_flap():
    rng = np.random.default_rng(7)
    noisy = 100 + rng.normal(0, 1.5, 400)  # hovers around the threshold of 100
    naive = run_series(noisy, [NAN, 100, NAN], clear=NAN, for_ms=0)
    damped = run_series(noisy, [NAN, 100, NAN], clear=95, for_ms=5000)

    def firings(states):
        return sum(1 for a, b in itertools.pairwise(states) if a[0] != FIRING and b[0] == FIRING)

    assert firings(naive) > 50
    assert firings(damped) == 1


def test_level_rises_while_firing_and_never_drops():
    states = run_series([15, 25, 15, 12], [10, 20, NAN], clear=NAN, for_ms=0)
    assert states == [(FIRING, 0), (FIRING, 1), (FIRING, 1), (FIRING, 1)]


def test_below_direction():
    states = run_series([0.95, 0.85, 0.88, 0.93], [NAN, 0.9, NAN], clear=0.92, for_ms=0, sign=-1)
    assert [s for s, _ in states] == [OK, FIRING, FIRING, OK]


def test_no_data_modes():
    keep = run_series([12, NAN, NAN], [NAN, 10, NAN], clear=NAN, for_ms=0)
    assert [s for s, _ in keep] == [FIRING, FIRING, FIRING]
    ok = run_series([12, NAN], [NAN, 10, NAN], clear=NAN, for_ms=0, nodata=NODATA_OK)
    assert [s for s, _ in ok] == [FIRING, OK]
    alert = run_series(
        [NAN, NAN, NAN, NAN], [NAN, 10, 20], clear=NAN, for_ms=2000, nodata=NODATA_ALERT
    )
    assert alert == [(PENDING, 1), (PENDING, 1), (FIRING, 1), (FIRING, 1)]


values = st.one_of(st.floats(-50, 50, allow_nan=False), st.just(NAN))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            values,
            st.integers(0, 2),
            st.integers(-1, 2),
            st.integers(0, 5000),
            st.integers(0, 3000),
            st.sampled_from([1, -1]),
            st.integers(0, 2),
            st.lists(st.one_of(st.floats(-40, 40), st.just(NAN)), min_size=3, max_size=3),
            st.one_of(st.floats(-40, 40), st.just(NAN)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_kernel_matches_twin(rows):
    value = np.array([r[0] for r in rows])
    state = np.array([r[1] for r in rows], np.int8)
    level = np.array([r[2] for r in rows], np.int8)
    since = np.array([r[3] for r in rows], np.int64)
    for_ms = np.array([r[4] for r in rows], np.int64)
    sign = np.array([r[5] for r in rows], np.int8)
    nodata = np.array([r[6] for r in rows], np.int8)
    thresholds = np.array([r[7] for r in rows], np.float64)
    clear = np.array([r[8] for r in rows])
    args = (value, thresholds, clear, sign, for_ms, nodata, state, level, since, 6000)
    fast, slow = step_states(*args), step_states_reference(*args)
    np.testing.assert_array_equal(fast.state, slow.state)
    np.testing.assert_array_equal(fast.level, slow.level)
    np.testing.assert_array_equal(fast.since, slow.since)
