"""Readings -> rows of consumption_15min, for a list of spans (pure: arrays in, arrays out).

Per reading: a value of quality INVALID is not used; ESTIMATED values (filled in by the edge)
count for consumption but not as readings present. Values are multiplied by the point's
register scale. Cumulative points go through the counter kernel (resets, rollovers, dips),
interval points are taken as reported, instantaneous points are not rolled up.

Completeness divides the readings present in a bucket by the number expected, which follows
from the point's reporting interval. The registry does not record that interval, so it is read
off the data: the median spacing of the readings loaded for the span (of any quality: they
show the device's schedule), snapped to the nearest
common cadence (1 s ... 15 min). Snapping keeps the figure stable whatever window was loaded.

A pass computes thousands of short ranges (a live pass: one bucket for each point that
reported). Every range's buckets are laid out in one flat array and each step is one kernel or
NumPy call over all of them: a loop over the ranges in Python cost about 0.3 ms a range, which
at a province's 3,333 ranges a second was most of the rollup's time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from energywatch.core.buckets import BUCKET_MS, ragged_bucket_counts, ragged_bucket_sums
from energywatch.core.coefficients import Conversion, coefficient_arrays
from energywatch.core.conversion import convert
from energywatch.core.counters import counter_deltas, interval_deltas
from energywatch.core.jit import kernel
from energywatch.core.series import F64, I64, build_series
from energywatch.core.timegrid import local_midnights
from energywatch.protocol.payload import Quality
from services.rollup.conversions import PointInfo, ReferenceRows
from services.rollup.counter_state import settled_edges
from services.rollup.plan import Span

CADENCES_MS = np.array([1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900], dtype=np.float64) * 1000.0


@dataclass(frozen=True)
class CounterRules:
    reset_share: float = 0.1
    wrap_share: float = 0.5


@dataclass(frozen=True)
class Readings:
    """Rows loaded for the spans: `span` is the index of the span each row was loaded for."""

    span: I64
    ts: I64
    value: F64
    quality: npt.NDArray[np.int16]


@dataclass(frozen=True)
class Rows:
    point_id: I64
    bucket: I64  # ms since the epoch
    quantity: F64
    tce: F64
    tco2: F64
    completeness: F64

    def __len__(self) -> int:
        return int(self.point_id.shape[0])


@kernel
def _median_steps(offsets, ts, out):  # type: ignore[no-untyped-def]
    steps = np.empty(ts.shape[0], dtype=np.int64)
    for s in range(offsets.shape[0] - 1):
        k = 0
        for i in range(offsets[s] + 1, offsets[s + 1]):
            step = ts[i] - ts[i - 1]
            if step > 0:
                steps[k] = step
                k += 1
        if k < 2:
            out[s] = np.nan
            continue
        ordered = np.sort(steps[:k])
        if k % 2:
            out[s] = float(ordered[k // 2])
        else:
            out[s] = (float(ordered[k // 2 - 1]) + float(ordered[k // 2])) / 2.0


def reporting_intervals_ms(offsets: I64, ts: I64) -> F64:
    """Each series' cadence read off its readings; one reading per bucket when too few."""
    median = np.empty(offsets.shape[0] - 1, dtype=np.float64)
    _median_steps(offsets, ts, median)
    known = ~np.isnan(median)
    out = np.full(median.shape, float(BUCKET_MS))
    if known.any():
        nearest = np.argmin(np.abs(np.log(CADENCES_MS[None, :] / median[known, None])), axis=1)
        out[known] = CADENCES_MS[nearest]
    return out


def _coefficient_rows(
    info: Sequence[PointInfo], row_span: I64, bucket: I64, reference: ReferenceRows
) -> tuple[I64, F64, F64]:
    """For each output row, the index of its (point, local day)'s coefficients, and the
    coefficient arrays. A bucket belongs to the local day in which it ends."""
    conversions: list[Conversion] = []
    index = np.empty(bucket.shape[0], dtype=np.int64)
    zones = [p.timezone for p in info]
    for zone in sorted(set(zones)):
        in_zone = np.asarray([z == zone for z in zones], dtype=bool)[row_span]
        if not in_zone.any():
            continue
        ends = bucket[in_zone] + BUCKET_MS
        days, midnights = local_midnights(zone, int(bucket[in_zone].min()), int(ends.max()))
        day = np.searchsorted(midnights, ends - 1, side="right") - 1
        pairs, inverse = np.unique(row_span[in_zone] * len(days) + day, return_inverse=True)
        index[in_zone] = len(conversions) + inverse.reshape(-1)
        conversions.extend(
            reference.conversion(info[int(p) // len(days)], days[int(p) % len(days)]) for p in pairs
        )
    tce_per_unit, tco2_per_unit = coefficient_arrays(conversions)
    return index, tce_per_unit, tco2_per_unit


def compute(
    spans: Sequence[Span],
    points: Mapping[int, PointInfo],
    readings: Readings,
    reference: ReferenceRows,
    rules: CounterRules | None = None,
) -> Rows:
    return compute_settling(spans, points, readings, reference, rules)[0]


def compute_settling(
    spans: Sequence[Span],
    points: Mapping[int, PointInfo],
    readings: Readings,
    reference: ReferenceRows,
    rules: CounterRules | None = None,
) -> tuple[Rows, list[tuple[int, int, int]]]:
    """The rows, and the registers' settled bucket edges (services/rollup/counter_state.py)."""
    rules = rules or CounterRules()
    n = len(spans)
    info = [points[s.point_id] for s in spans]
    scale = np.array([p.scale for p in info], dtype=np.float64)
    rollover = np.array([p.rollover or np.nan for p in info], dtype=np.float64)
    is_interval = np.array([p.kind == "interval" for p in info], dtype=bool)

    q = readings.quality
    value = readings.value * scale[readings.span] if n else readings.value
    used = np.where(q == Quality.INVALID, np.nan, value)
    present = np.where(q == Quality.ESTIMATED, np.nan, used)
    series = build_series(readings.span, readings.ts, used, n)
    counted = build_series(readings.span, readings.ts, present, n).values

    delta, start, flags = counter_deltas(
        series.offsets, series.ts, series.values, rollover, rules.reset_share, rules.wrap_share
    )
    cumulative = [p.kind == "cumulative" for p in info]
    settled = settled_edges(spans, cumulative, series.offsets, series.ts, series.values, flags)
    if is_interval.any():
        i_delta, i_start, _ = interval_deltas(series.ts, series.values)
        per_row = np.repeat(is_interval, np.diff(series.offsets))
        delta = np.where(per_row, i_delta, delta)
        start = np.where(per_row, i_start, start)

    # Every span's buckets in one flat array, span i's at [row_offsets[i], row_offsets[i + 1]).
    origins = np.asarray([span.start for span in spans], dtype=np.int64)
    n_buckets = np.asarray([(span.end - span.start) // BUCKET_MS for span in spans], np.int64)
    row_offsets = np.concatenate(([0], np.cumsum(n_buckets))).astype(np.int64)
    row_span = np.repeat(np.arange(n, dtype=np.int64), n_buckets)
    bucket = origins[row_span] + (np.arange(row_span.size) - row_offsets[row_span]) * BUCKET_MS

    offsets, ts = series.offsets, series.ts
    quantity = ragged_bucket_sums(offsets, start, ts, delta, origins, row_offsets)
    counts = ragged_bucket_counts(offsets, ts, counted, origins, row_offsets)
    # invalid readings too: they show the schedule
    expected = BUCKET_MS / reporting_intervals_ms(offsets, ts)
    share = np.minimum(1.0, counts / expected[row_span])
    index, tce_per_unit, tco2_per_unit = _coefficient_rows(info, row_span, bucket, reference)
    tce, tco2 = convert(quantity, index, tce_per_unit, tco2_per_unit)
    keep = (counts > 0) | (quantity != 0.0)
    point_ids = np.asarray([span.point_id for span in spans], dtype=np.int64)
    rows = Rows(
        point_id=point_ids[row_span[keep]],
        bucket=bucket[keep],
        quantity=quantity[keep],
        tce=tce[keep],
        tco2=tco2[keep],
        completeness=share[keep],
    )
    return rows, settled
