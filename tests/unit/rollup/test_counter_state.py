import numpy as np

from energywatch.core.counters import counter_deltas
from energywatch.core.series import build_series
from services.rollup.counter_state import CounterStates, settled_edges
from services.rollup.plan import Span

B = 900_000
M = 60_000


def edges_of(spans, cumulative, series_of_span):
    ids = np.concatenate([np.full(len(ts), i) for i, (ts, _) in enumerate(series_of_span)])
    ts = np.concatenate([np.asarray(ts, dtype=np.int64) for ts, _ in series_of_span])
    values = np.concatenate([np.asarray(v, dtype=np.float64) for _, v in series_of_span])
    series = build_series(ids, ts, values, len(spans))
    _, _, flags = counter_deltas(
        series.offsets, series.ts, series.values, np.full(len(spans), np.nan)
    )
    return settled_edges(spans, cumulative, series.offsets, series.ts, series.values, flags)


def test_a_rising_register_is_settled_at_the_last_two_edges_of_its_range() -> None:
    # range of three buckets, a reading every 5 minutes from one before it
    ts = [-5 * M + k * 5 * M for k in range(10)]
    got = edges_of([Span(7, 0, 3 * B)], [True], [(ts, [float(k) for k in range(10)])])
    assert got == [(7, B, B - 5 * M), (7, 2 * B, 2 * B - 5 * M)]


def test_an_edge_inside_a_dip_is_not_settled() -> None:
    # 10, 11, then a small drop to 10.5 just before the second edge: the reference stays 11
    ts = [-M, 5 * M, B + 2 * M, 2 * B - M, 2 * B + M]
    values = [10.0, 11.0, 11.0, 10.5, 12.0]
    got = edges_of([Span(3, 0, 3 * B)], [True], [(ts, values)])
    assert got == [(3, B, 5 * M)]


def test_unusable_readings_are_passed_over_and_interval_meters_carry_nothing() -> None:
    ts = [-M, B - 2 * M, B - M]
    values = [1.0, 2.0, np.nan]  # the last one before the edge is unusable
    got = edges_of(
        [Span(1, 0, 2 * B), Span(2, 0, 2 * B)], [True, False], [(ts, values), (ts, values)]
    )
    assert got == [(1, 0, -M), (1, B, B - 2 * M)]


def test_dirty_buckets_forget_the_edges_after_them() -> None:
    states = CounterStates()
    states.follow(1)
    states.learn([(1, B, 10), (1, 2 * B, 20), (2, 2 * B, 30)])
    states.forget_after({1: [3 * B, B], 2: [B]})
    assert states.reference_time(Span(1, B, 3 * B)) == 10
    assert states.reference_time(Span(1, 2 * B, 3 * B)) is None
    assert states.reference_time(Span(2, 2 * B, 3 * B)) is None


def test_a_gap_in_the_pass_numbers_forgets_everything() -> None:
    states = CounterStates()
    states.follow(5)
    states.learn([(1, B, 10)])
    states.follow(6)
    assert states.reference_time(Span(1, B, 2 * B)) == 10
    states.follow(8)  # another process ran pass 7
    assert states.reference_time(Span(1, B, 2 * B)) is None


def test_a_point_keeps_the_edges_of_its_latest_range_only() -> None:
    states = CounterStates()
    states.learn([(1, B, 10), (1, 2 * B, 20)])
    states.learn([(1, 3 * B, 30)])
    assert states.edges_of(1) == {3 * B: 30}
