"""Time-window sums and ratios over irregular timestamps.

The window of reading i is every reading j of the same series with
ts[i] - window < ts[j] <= ts[i]; NaN values count as absent. Two pointers walk the series once
(O(n)); readings with a repeated timestamp then share the window of the last of them.

Instead of adding and removing values from one running sum, whose rounding errors pile up over
a long series, the kernel keeps two compensated prefix sums (TwoSum, as in Ogita, Rump and
Oishi's Sum2): one up to the window's right edge, one up to its left edge. The window sum is
their difference, exact to about one rounding of the result. Each prefix has a short
dependency chain (one addition), which keeps the loop fast.
"""

from __future__ import annotations

import numpy as np

from energywatch.core.jit import kernel
from energywatch.core.series import F64, I64


@kernel
def _rolling_sum(offsets, ts, values, window, out):  # type: ignore[no-untyped-def]
    for s in range(offsets.shape[0] - 1):
        begin, end = offsets[s], offsets[s + 1]
        hi_r = 0.0  # prefix sum up to the right edge, and its error term
        lo_r = 0.0
        hi_l = 0.0  # prefix sum up to the left edge
        lo_l = 0.0
        left = begin
        repeated = False
        for i in range(begin, end):
            t = ts[i]
            repeated |= i > begin and t == ts[i - 1]
            x = values[i]
            x = 0.0 if x != x else x
            h = hi_r + x
            z = h - hi_r
            lo_r += (hi_r - (h - z)) + (x - z)
            hi_r = h
            edge = t - window
            while ts[left] <= edge:
                x = values[left]
                x = 0.0 if x != x else x
                h = hi_l + x
                z = h - hi_l
                lo_l += (hi_l - (h - z)) + (x - z)
                hi_l = h
                left += 1
            out[i] = (hi_r - hi_l) + (lo_r - lo_l)
        if repeated:
            _share_last_of_repeats(ts, out, begin, end)


@kernel
def _share_last_of_repeats(ts, out, begin, end):  # type: ignore[no-untyped-def]
    # readings with the same timestamp share one window: the one that includes them all
    for i in range(end - 2, begin - 1, -1):
        if ts[i] == ts[i + 1]:
            out[i] = out[i + 1]


def rolling_sum(offsets: I64, ts: I64, values: F64, window: int) -> F64:
    """Sum of each reading's trailing time window (ms), per reading."""
    if window <= 0:
        raise ValueError("window must be positive")
    out = np.empty(ts.shape[0], dtype=np.float64)
    _rolling_sum(offsets, ts, values, np.int64(window), out)
    return out


@kernel
def _rolling_ratio(offsets, ts, num, den, window, min_den, scale, out):  # type: ignore[no-untyped-def]
    for s in range(offsets.shape[0] - 1):
        begin, end = offsets[s], offsets[s + 1]
        nh_r = 0.0  # numerator: prefix to the right edge (hi, lo), to the left edge
        nl_r = 0.0
        nh_l = 0.0
        nl_l = 0.0
        dh_r = 0.0  # denominator, likewise
        dl_r = 0.0
        dh_l = 0.0
        dl_l = 0.0
        left = begin
        repeated = False
        for i in range(begin, end):
            t = ts[i]
            repeated |= i > begin and t == ts[i - 1]
            x = num[i]
            x = 0.0 if x != x else x
            y = den[i]
            y = 0.0 if y != y else y
            h = nh_r + x
            z = h - nh_r
            nl_r += (nh_r - (h - z)) + (x - z)
            nh_r = h
            h = dh_r + y
            z = h - dh_r
            dl_r += (dh_r - (h - z)) + (y - z)
            dh_r = h
            edge = t - window
            while ts[left] <= edge:
                x = num[left]
                x = 0.0 if x != x else x
                y = den[left]
                y = 0.0 if y != y else y
                h = nh_l + x
                z = h - nh_l
                nl_l += (nh_l - (h - z)) + (x - z)
                nh_l = h
                h = dh_l + y
                z = h - dh_l
                dl_l += (dh_l - (h - z)) + (y - z)
                dh_l = h
                left += 1
            d = (dh_r - dh_l) + (dl_r - dl_l)
            if abs(d) <= min_den:
                out[i] = np.nan
            else:
                out[i] = scale * ((nh_r - nh_l) + (nl_r - nl_l)) / d
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
    )
    return out
