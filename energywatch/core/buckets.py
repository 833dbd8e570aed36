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
def _bucket_sums(offsets, start, end, delta, origins, out_offsets, width, out):  # type: ignore[no-untyped-def]
    n_series = offsets.shape[0] - 1
    for s in range(n_series):
        origin = origins[s]
        base = out_offsets[s]
        n_buckets = out_offsets[s + 1] - base
        for i in range(offsets[s], offsets[s + 1]):
            d = delta[i]
            if d == 0.0:
                continue
            a = start[i] - origin
            b = end[i] - origin
            if b <= a:
                k = -((-b) // width) - 1  # ceil(b / width) - 1
                if 0 <= k < n_buckets:
                    out[base + k] += d
                continue
            k0 = a // width
            k1 = -((-b) // width) - 1
            if k0 == k1:
                if 0 <= k0 < n_buckets:
                    out[base + k0] += d
                continue
            span = b - a
            lo_k = max(k0, 0)
            hi_k = min(k1, n_buckets - 1)
            for k in range(lo_k, hi_k + 1):
                lo = max(a, k * width)
                hi = min(b, (k + 1) * width)
                out[base + k] += d * (hi - lo) / span


def ragged_bucket_sums(
    offsets: I64,
    start: I64,
    end: I64,
    delta: F64,
    origins: I64,
    out_offsets: I64,
    width: int = BUCKET_MS,
) -> F64:
    """Consumption per bucket when each series has a grid of its own: series s has buckets
    from `origins[s]`, written to `out[out_offsets[s]:out_offsets[s + 1]]`. One call for a
    rollup pass's thousands of short ranges, instead of one call per range."""
    out = np.zeros(int(out_offsets[-1]) if out_offsets.size else 0, dtype=np.float64)
    _bucket_sums(
        offsets,
        start,
        end,
        delta,
        np.ascontiguousarray(origins, dtype=np.int64),
        np.ascontiguousarray(out_offsets, dtype=np.int64),
        np.int64(width),
        out,
    )
    return out


def _same_grid(n_series: int, origin: int, n_buckets: int) -> tuple[I64, I64]:
    origins = np.full(n_series, origin, dtype=np.int64)
    return origins, n_buckets * np.arange(n_series + 1, dtype=np.int64)


def bucket_sums(
    offsets: I64,
    start: I64,
    end: I64,
    delta: F64,
    origin: int,
    n_buckets: int,
    width: int = BUCKET_MS,
) -> F64:
    """(n_series, n_buckets) consumption per bucket, every series on the same grid."""
    n_series = offsets.shape[0] - 1
    origins, out_offsets = _same_grid(n_series, origin, n_buckets)
    flat = ragged_bucket_sums(offsets, start, end, delta, origins, out_offsets, width)
    return flat.reshape(n_series, n_buckets)


@kernel
def _bucket_counts(offsets, ts, values, origins, out_offsets, width, out):  # type: ignore[no-untyped-def]
    n_series = offsets.shape[0] - 1
    for s in range(n_series):
        origin = origins[s]
        base = out_offsets[s]
        n_buckets = out_offsets[s + 1] - base
        for i in range(offsets[s], offsets[s + 1]):
            if np.isnan(values[i]):
                continue
            k = -((origin - ts[i]) // width) - 1  # ceil((ts - origin) / width) - 1
            if 0 <= k < n_buckets:
                out[base + k] += 1


def ragged_bucket_counts(
    offsets: I64, ts: I64, values: F64, origins: I64, out_offsets: I64, width: int = BUCKET_MS
) -> npt.NDArray[np.int64]:
    """Valid readings per bucket (start, end], each series on a grid of its own (as
    `ragged_bucket_sums`)."""
    out = np.zeros(int(out_offsets[-1]) if out_offsets.size else 0, dtype=np.int64)
    _bucket_counts(
        offsets,
        ts,
        values,
        np.ascontiguousarray(origins, dtype=np.int64),
        np.ascontiguousarray(out_offsets, dtype=np.int64),
        np.int64(width),
        out,
    )
    return out


def bucket_counts(
    offsets: I64, ts: I64, values: F64, origin: int, n_buckets: int, width: int = BUCKET_MS
) -> npt.NDArray[np.int64]:
    """(n_series, n_buckets) number of valid readings per bucket (start, end]."""
    n_series = offsets.shape[0] - 1
    origins, out_offsets = _same_grid(n_series, origin, n_buckets)
    flat = ragged_bucket_counts(offsets, ts, values, origins, out_offsets, width)
    return flat.reshape(n_series, n_buckets)
