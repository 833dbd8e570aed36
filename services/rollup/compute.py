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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from energywatch.core.buckets import (
    BUCKET_MS,
    bucket_counts,
    bucket_sums,
    completeness,
    expected_per_bucket,
)
from energywatch.core.coefficients import coefficient_arrays
from energywatch.core.conversion import convert
from energywatch.core.counters import counter_deltas, interval_deltas
from energywatch.core.series import F64, I64, build_series
from energywatch.core.timegrid import Grid, local_day_starts
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


def reporting_interval_ms(ts: I64) -> float:
    """The point's cadence read off its readings; one reading per bucket when too few."""
    steps = np.diff(ts)
    steps = steps[steps > 0]
    if steps.size < 2:
        return float(BUCKET_MS)
    median = float(np.median(steps))
    return float(CADENCES_MS[np.argmin(np.abs(np.log(CADENCES_MS / median)))])


def _coefficients(point: PointInfo, grid: Grid, reference: ReferenceRows) -> tuple[I64, F64, F64]:
    days, starts = local_day_starts(point.timezone, grid)
    conversions = [reference.conversion(point, day) for day in days]
    tce_per_unit, tco2_per_unit = coefficient_arrays(conversions)
    index = np.repeat(np.arange(len(days), dtype=np.int64), np.diff(starts))
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

    out: dict[str, list[np.ndarray]] = {k: [] for k in Rows.__dataclass_fields__}
    one = np.array([0, 0], dtype=np.int64)
    for i, span in enumerate(spans):
        a, b = int(series.offsets[i]), int(series.offsets[i + 1])
        grid = Grid(span.start, (span.end - span.start) // BUCKET_MS)
        one[1] = b - a
        ts = series.ts[a:b]
        quantity = bucket_sums(one, start[a:b], ts, delta[a:b], grid.origin, grid.n_buckets)[0]
        counts = bucket_counts(one, ts, counted[a:b], grid.origin, grid.n_buckets)
        cadence = reporting_interval_ms(ts)  # invalid readings too: they show the schedule
        share = completeness(counts, expected_per_bucket([cadence]))[0]
        index, tce_per_unit, tco2_per_unit = _coefficients(info[i], grid, reference)
        tce, tco2 = convert(quantity, index, tce_per_unit, tco2_per_unit)
        keep = (counts[0] > 0) | (quantity != 0.0)
        out["point_id"].append(np.full(int(keep.sum()), span.point_id, dtype=np.int64))
        out["bucket"].append(grid.bucket_starts()[keep])
        out["quantity"].append(quantity[keep])
        out["tce"].append(tce[keep])
        out["tco2"].append(tco2[keep])
        out["completeness"].append(share[keep])

    def joined(name: str, dtype: type) -> np.ndarray:
        return np.concatenate(out[name]) if out[name] else np.empty(0, dtype=dtype)

    rows = Rows(
        point_id=joined("point_id", np.int64),
        bucket=joined("bucket", np.int64),
        quantity=joined("quantity", np.float64),
        tce=joined("tce", np.float64),
        tco2=joined("tco2", np.float64),
        completeness=joined("completeness", np.float64),
    )
    return rows, settled
