"""Consumption apportioned to fixed buckets (15 minutes), and completeness.

A grid is `n_buckets` buckets of `width` ms starting at `origin` (ms since the epoch); bucket k
is the half-open interval [origin + k*width, origin + (k+1)*width). The caller picks an origin
aligned to the site's local quarter-hours (timegrid.py), so the kernels stay free of timezones.

Consumption over an interval (start, end] is spread over the buckets it overlaps in proportion
to the overlap; a zero-length interval (an interval meter's report) goes whole to the bucket
that ends at or contains `end`. Parts of an interval outside the grid are left out: they belong
to buckets the caller did not ask for.

Completeness counts valid (non-NaN) readings per bucket, divided by the number expected (bucket
width / the series' reporting interval), capped at 1. A reading is counted in the bucket that
ends at or contains its timestamp, the bucket its consumption goes to: a reading closes the
interval before it, so the report at 24:00 (the use of 23:45-24:00) counts in the day it closes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from energywatch.core.jit import kernel
from energywatch.core.series import F64, I64

BUCKET_MS = 15 * 60 * 1000


@kernel
def _bucket_sums(offsets, start, end, delta, origin, width, n_buckets, out):  # type: ignore[no-untyped-def]
    n_series = offsets.shape[0] - 1
    for s in range(n_series):
        row = out[s]
        for i in range(offsets[s], offsets[s + 1]):
            d = delta[i]
            if d == 0.0:
                continue
            a = start[i] - origin
            b = end[i] - origin
            if b <= a:
                k = -((-b) // width) - 1  # ceil(b / width) - 1
                if 0 <= k < n_buckets:
                    row[k] += d
                continue
            k0 = a // width
            k1 = -((-b) // width) - 1
            if k0 == k1:
                if 0 <= k0 < n_buckets:
                    row[k0] += d
                continue
            span = b - a
            lo_k = max(k0, 0)
            hi_k = min(k1, n_buckets - 1)
            for k in range(lo_k, hi_k + 1):
                lo = max(a, k * width)
                hi = min(b, (k + 1) * width)
                row[k] += d * (hi - lo) / span


def bucket_sums(
    offsets: I64,
    start: I64,
    end: I64,
    delta: F64,
    origin: int,
    n_buckets: int,
    width: int = BUCKET_MS,
) -> F64:
    """(n_series, n_buckets) consumption per bucket."""
    out = np.zeros((offsets.shape[0] - 1, n_buckets), dtype=np.float64)
    _bucket_sums(
        offsets, start, end, delta, np.int64(origin), np.int64(width), np.int64(n_buckets), out
    )
    return out


@kernel
def _bucket_counts(offsets, ts, values, origin, width, n_buckets, out):  # type: ignore[no-untyped-def]
    n_series = offsets.shape[0] - 1
    for s in range(n_series):
        for i in range(offsets[s], offsets[s + 1]):
            if np.isnan(values[i]):
                continue
            k = -((origin - ts[i]) // width) - 1  # ceil((ts - origin) / width) - 1
            if 0 <= k < n_buckets:
                out[s, k] += 1


def bucket_counts(
    offsets: I64, ts: I64, values: F64, origin: int, n_buckets: int, width: int = BUCKET_MS
) -> npt.NDArray[np.int64]:
    """(n_series, n_buckets) number of valid readings per bucket (start, end]."""
    out = np.zeros((offsets.shape[0] - 1, n_buckets), dtype=np.int64)
    _bucket_counts(offsets, ts, values, np.int64(origin), np.int64(width), np.int64(n_buckets), out)
    return out


def expected_per_bucket(interval_ms: npt.ArrayLike, width: int = BUCKET_MS) -> F64:
    """Readings expected in one bucket for each series' reporting interval."""
    return width / np.asarray(interval_ms, dtype=np.float64)


@kernel
def _completeness(counts, expected, out):  # type: ignore[no-untyped-def]
    n_series, n_buckets = counts.shape
    for s in range(n_series):
        e = expected[s]
        for k in range(n_buckets):
            out[s, k] = min(1.0, counts[s, k] / e) if e > 0.0 else 0.0


def completeness(counts: npt.NDArray[np.int64], expected: F64) -> F64:
    """Share of expected readings present per bucket, in [0, 1]."""
    out = np.empty(counts.shape, dtype=np.float64)
    _completeness(counts, expected.astype(np.float64), out)
    return out


@kernel
def _day_completeness(counts, expected, day_starts):  # type: ignore[no-untyped-def]
    n_series = counts.shape[0]
    n_days = day_starts.shape[0] - 1
    out = np.empty((n_series, n_days), dtype=np.float64)
    for s in range(n_series):
        for d in range(n_days):
            a, b = day_starts[d], day_starts[d + 1]
            total = 0
            for k in range(a, b):
                total += counts[s, k]
            want = expected[s] * (b - a)
            out[s, d] = min(1.0, total / want) if want > 0.0 else 0.0
    return out


def day_completeness(counts: npt.NDArray[np.int64], expected: F64, day_starts: I64) -> F64:
    """(n_series, n_days) share of a day's expected readings present.

    `day_starts` holds the bucket index at which each local day begins, plus the end, so a
    day of 92 or 100 buckets (a daylight-saving change) is handled by the data, not the kernel.
    """
    return _day_completeness(counts, expected.astype(np.float64), day_starts.astype(np.int64))
