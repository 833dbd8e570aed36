from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from energywatch.protocol.payload import Quality
from energywatch.reference import load_reference
from services.rollup.compute import Readings, compute, reporting_intervals_ms
from services.rollup.conversions import PointInfo, ReferenceRows
from services.rollup.plan import Span, split
from tests.unit.core.strategies import Batch, batches, property_test

Q = 900_000
MIN = 60_000
T0 = 1_763_568_000_000  # 2025-11-19 16:00 UTC, a local midnight in Shanghai
ZONES = ["Asia/Shanghai", "Europe/Berlin", "UTC", "Asia/Kathmandu"]


def reference() -> ReferenceRows:
    ref = load_reference()
    return ReferenceRows(
        list(ref.coal), list(ref.emission_factors), {fs.code: fs for fs in ref.factor_sets}
    )


REFERENCE = reference()


def point(kind: str, measure: str = "electricity", scale: float = 1.0) -> PointInfo:
    category = "product" if measure == "product" else "energy"
    return PointInfo(1, measure, category, kind, None, scale, "Asia/Shanghai", None, "north")


def readings(ts: list[int], values: list[float], quality: list[int] | None = None) -> Readings:
    return Readings(
        np.zeros(len(ts), dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.array(quality or [0] * len(ts), dtype=np.int16),
    )


def test_invalid_readings_are_skipped_and_estimated_ones_not_counted_present() -> None:
    ts = [T0 + m * 5 * MIN for m in range(4)]  # 00:00, 05, 10, 15
    q = [int(x) for x in (Quality.GOOD, Quality.INVALID, Quality.ESTIMATED, Quality.GOOD)]
    rows = compute(
        [Span(1, T0, T0 + Q)],
        {1: point("cumulative")},
        readings(ts, [10.0, 999.0, 12.0, 13.0], q),
        reference(),
    )
    assert rows.quantity.tolist() == [3.0]  # 999 (invalid) never counted as a rise
    # a 5-minute meter: of 00:00, 00:05 and 00:10 only the first was measured and valid
    assert rows.completeness.tolist() == [pytest.approx(1 / 3)]


def test_scale_and_interval_meters() -> None:
    ts = [T0 + Q, T0 + 2 * Q]  # each report covers the quarter-hour ending at its time
    rows = compute(
        [Span(1, T0, T0 + 2 * Q)],
        {1: point("interval", "product", 0.001)},
        readings(ts, [2000.0, 3000.0]),
        reference(),
    )
    assert rows.quantity.tolist() == [2.0, 3.0]
    assert rows.tce.tolist() == [0.0, 0.0]


def test_buckets_without_readings_or_use_are_not_written() -> None:
    ts = [T0 + Q, T0 + 3 * Q]  # each reading closes the bucket ending at its time
    rows = compute(
        [Span(1, T0, T0 + 4 * Q)], {1: point("cumulative")}, readings(ts, [5.0, 5.0]), reference()
    )
    assert rows.bucket.tolist() == [T0, T0 + 2 * Q]


def test_reporting_interval_snaps_to_a_common_cadence() -> None:
    ts = np.array([0, 9_800, 20_100, 30_000, 0, 0, 310_000, 600_000, 900_000, 1_190_000])
    # the third series has one step only, the second an even count (median between two)
    offsets = np.array([0, 4, 5, 7, 10])
    assert reporting_intervals_ms(offsets, ts).tolist() == [10_000, Q, Q, 300_000]


@property_test
@given(batches(max_series=1, max_len=40), st.integers(1, 6))
def test_pieces_of_a_span_give_the_rows_of_the_whole(batch: Batch, piece_buckets: int) -> None:
    """plan.split cuts long spans without widening them: each piece, given the readings around
    it, must produce exactly the buckets the whole span would."""
    if not batch.ts:
        return
    start = (min(batch.ts) // Q) * Q - Q
    end = (max(batch.ts) // Q) * Q + 2 * Q
    info = {1: point("cumulative")}
    ts = np.array(batch.ts, dtype=np.int64) + T0
    values = np.array(batch.values)

    def rows_for(spans: list[Span]) -> list[tuple[int, float, float]]:
        n = len(spans)
        loaded = Readings(
            np.repeat(np.arange(n, dtype=np.int64), ts.size),
            np.tile(ts, n),
            np.tile(values, n),
            np.zeros(n * ts.size, dtype=np.int16),
        )
        rows = compute(spans, info, loaded, REFERENCE)
        return list(
            zip(
                rows.bucket.tolist(),
                rows.quantity.tolist(),
                rows.completeness.tolist(),
                strict=True,
            )
        )

    whole = rows_for([Span(1, T0 + start, T0 + end)])
    pieces = rows_for(split(Span(1, T0 + start, T0 + end), piece_buckets * Q))
    assert [r[0] for r in pieces] == [r[0] for r in whole]
    for p, w in zip(pieces, whole, strict=True):
        assert p[1] == pytest.approx(w[1], rel=1e-12, abs=1e-9)
        assert p[2] == w[2] or abs(p[2] - w[2]) < 1e-12


@property_test
@given(batches(max_series=4, max_len=40), st.lists(st.sampled_from(ZONES), min_size=4, max_size=4))
def test_ranges_computed_together_give_the_rows_each_gives_alone(
    batch: Batch, zones: list[str]
) -> None:
    """A pass lays every range's buckets out in one array: ranges of sites in other zones, over
    other days, computed together must give exactly the rows each gives on its own."""
    ids = np.array(batch.ids, dtype=np.int64)
    ts = np.array(batch.ts, dtype=np.int64) + T0
    values = np.array(batch.values)
    quality = np.zeros(ids.size, dtype=np.int16)
    n = int(ids.max()) + 1 if ids.size else 0
    spans, info = [], {}
    for s in range(n):
        mine = ts[ids == s]
        lo = int(mine.min()) if mine.size else T0
        hi = int(mine.max()) if mine.size else T0
        spans.append(Span(s + 1, (lo // Q) * Q + Q, (hi // Q) * Q + 2 * Q))
        info[s + 1] = replace(point("interval" if s == 3 else "cumulative"), timezone=zones[s])
    together = compute(spans, info, Readings(ids, ts, values, quality), REFERENCE)
    for s, span in enumerate(spans):
        mine = ids == s
        alone = compute(
            [span],
            info,
            Readings(np.zeros(int(mine.sum()), np.int64), ts[mine], values[mine], quality[mine]),
            REFERENCE,
        )
        at = together.point_id == span.point_id
        for field in ("bucket", "quantity", "tce", "tco2", "completeness"):
            assert np.array_equal(getattr(together, field)[at], getattr(alone, field)), field
