"""Twin of core.buckets: one interval and one bucket at a time, plain Python."""

from __future__ import annotations

import math


def bucket_sums(
    intervals: list[tuple[int, int, float]], origin: int, width: int, n_buckets: int
) -> list[float]:
    """`intervals`: (start, end, delta) of one series -> consumption per bucket."""
    out = [0.0] * n_buckets
    for start, end, delta in intervals:
        if delta == 0:
            continue
        if end <= start:
            # whole into the bucket that ends at or contains `end`
            k = math.ceil((end - origin) / width) - 1
            if 0 <= k < n_buckets:
                out[k] += delta
            continue
        for k in range(n_buckets):
            lo = max(start, origin + k * width)
            hi = min(end, origin + (k + 1) * width)
            if hi > lo:
                out[k] += delta * (hi - lo) / (end - start)
    return out


def bucket_counts(
    readings: list[tuple[int, float]], origin: int, width: int, n_buckets: int
) -> list[int]:
    out = [0] * n_buckets
    for ts, v in readings:
        if math.isnan(v):
            continue
        for k in range(n_buckets):
            if origin + k * width < ts <= origin + (k + 1) * width:
                out[k] += 1
    return out
