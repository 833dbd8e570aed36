"""Time-window sums and ratios over irregular timestamps.

The window of reading i is every reading j of the same series with
ts[i] - window < ts[j] <= ts[i]; NaN values count as absent. Two pointers walk the series once
(O(n)); readings with a repeated timestamp then share the window of the last of them.

Instead of adding and removing values from one running sum, whose rounding errors pile up over
a long series, the kernel keeps one compensated prefix sum (TwoSum, as in Ogita, Rump and
Oishi's Sum2) and remembers its value before each reading in a scratch array the size of the
longest series (it stays in cache); the window sum is the prefix now minus the prefix before
the window's first reading, exact to about one rounding of the result. The prefix has a short
dependency chain (one addition), which keeps the loop fast.
"""

from __future__ import annotations

import numpy as np

from energywatch.core.jit import kernel
from energywatch.core.series import F64, I64


@kernel
def _rolling_sum(offsets, ts, values, window, out, before):  # type: ignore[no-untyped-def]
    for s in range(offsets.shape[0] - 1):
        begin, end = offsets[s], offsets[s + 1]
        hi = 0.0  # compensated prefix sum: value and error term
        lo = 0.0
        left = 0  # the window's first reading, counted from `begin`
        repeated = False
        for i in range(begin, end):
            k = i - begin
            before[k, 0] = hi  # the prefix before reading k, for when k leaves the window
            before[k, 1] = lo
            t = ts[i]
            repeated |= k > 0 and t == ts[i - 1]
            x = values[i]
            x = 0.0 if x != x else x
            h = hi + x
            z = h - hi
            lo += (hi - (h - z)) + (x - z)
            hi = h
            edge = t - window
            while ts[begin + left] <= edge:
                left += 1
            out[i] = (hi - before[left, 0]) + (lo - before[left, 1])
        if repeated:
            _share_last_of_repeats(ts, out, begin, end)


@kernel
def _share_last_of_repeats(ts, out, begin, end):  # type: ignore[no-untyped-def]
    # readings with the same timestamp share one window: the one that includes them all
    for i in range(end - 2, begin - 1, -1):
        if ts[i] == ts[i + 1]:
            out[i] = out[i + 1]


def _prefix_scratch(offsets: I64, columns: int) -> F64:
    longest = int(np.diff(offsets).max()) if offsets.shape[0] > 1 else 0
    return np.empty((longest + 1, columns), dtype=np.float64)


def rolling_sum(offsets: I64, ts: I64, values: F64, window: int) -> F64:
    """Sum of each reading's trailing time window (ms), per reading."""
    if window <= 0:
        raise ValueError("window must be positive")
    out = np.empty(ts.shape[0], dtype=np.float64)
    _rolling_sum(offsets, ts, values, np.int64(window), out, _prefix_scratch(offsets, 2))
    return out


@kernel
def _rolling_ratio(offsets, ts, num, den, window, min_den, scale, out, before):  # type: ignore[no-untyped-def]
    for s in range(offsets.shape[0] - 1):
        begin, end = offsets[s], offsets[s + 1]
        nh = 0.0  # compensated prefix sums of numerator and denominator
        nl = 0.0
        dh = 0.0
        dl = 0.0
        left = 0
        repeated = False
        for i in range(begin, end):
            k = i - begin
            before[k, 0] = nh
            before[k, 1] = nl
            before[k, 2] = dh
            before[k, 3] = dl
            t = ts[i]
            repeated |= k > 0 and t == ts[i - 1]
            x = num[i]
            x = 0.0 if x != x else x
            y = den[i]
            y = 0.0 if y != y else y
            h = nh + x
            z = h - nh
            nl += (nh - (h - z)) + (x - z)
            nh = h
            h = dh + y
            z = h - dh
            dl += (dh - (h - z)) + (y - z)
            dh = h
            edge = t - window
            while ts[begin + left] <= edge:
                left += 1
            d = (dh - before[left, 2]) + (dl - before[left, 3])
            if abs(d) <= min_den:
                out[i] = np.nan
            else:
                out[i] = scale * ((nh - before[left, 0]) + (nl - before[left, 1])) / d
        if repeated:
            _share_last_of_repeats(ts, out, begin, end)


def rolling_ratio(
    offsets: I64,
    ts: I64,
    numerator: F64,
    denominator: F64,
    window: int,
    min_denominator: float,
    scale: float = 1.0,
) -> F64:
    """scale * window sum of numerator / window sum of denominator, per reading.

    NaN where the denominator's window sum is not larger in magnitude than `min_denominator`
    (no output, a stopped line: the ratio would be noise or infinite).
    """
    if window <= 0:
        raise ValueError("window must be positive")
    if numerator.shape != denominator.shape or numerator.shape != ts.shape:
        raise ValueError("ts, numerator and denominator must have the same length")
    out = np.empty(ts.shape[0], dtype=np.float64)
    _rolling_ratio(
        offsets,
        ts,
        numerator,
        denominator,
        np.int64(window),
        float(min_denominator),
        float(scale),
        out,
        _prefix_scratch(offsets, 4),
    )
    return out
