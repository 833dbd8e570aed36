"""Cumulative registers -> interval consumption.

For each reading the kernel gives the consumption since the previous valid reading of the same
series, the start of that interval and flags saying how it was judged:

- NaN value: MISSING, no consumption, the previous valid reading stays the reference.
- first valid reading: FIRST, no consumption (nothing to subtract from).
- rise: the difference.
- drop of at most `reset_share` of the reference: NEGATIVE, counted as zero, and the reference
  stays at the higher value, so jitter around a value never adds up to phantom consumption.
- larger drop, when the series has a rollover value R and the wrapped difference R - ref + v is
  at most `wrap_share * R`: ROLLOVER, consumption is the wrapped difference.
- any other larger drop: RESET, the register restarted from zero, consumption is the new value.

Gaps are not filled: the consumption across a gap is the one measured difference, spread over
the gap's time by the bucketing step.
"""

from __future__ import annotations

import numpy as np

from energywatch.core import flags as fl
from energywatch.core.jit import kernel
from energywatch.core.series import F64, I64

DEFAULT_RESET_SHARE = 0.1
DEFAULT_WRAP_SHARE = 0.5


@kernel
def _counter_deltas(offsets, ts, values, rollover, reset_share, wrap_share, delta, start, flags):  # type: ignore[no-untyped-def]
    for s in range(offsets.shape[0] - 1):
        r = rollover[s]
        has_ref = False
        ref = 0.0
        ref_ts = np.int64(0)
        for i in range(offsets[s], offsets[s + 1]):
            v = values[i]
            delta[i] = 0.0
            flags[i] = 0
            if np.isnan(v):
                start[i] = ts[i]
                flags[i] = fl.MISSING
                continue
            if not has_ref:
                start[i] = ts[i]
                flags[i] = fl.FIRST
                has_ref = True
                ref = v
                ref_ts = ts[i]
                continue
            start[i] = ref_ts
            ref_ts = ts[i]
            d = v - ref
            if d >= 0.0:
                delta[i] = d
                ref = v
            elif -d <= reset_share * abs(ref):
                flags[i] = fl.NEGATIVE
            else:
                wrapped = r - ref + v
                if r > 0.0 and v >= 0.0 and ref <= r and wrapped <= wrap_share * r:
                    delta[i] = wrapped
                    flags[i] = fl.ROLLOVER
                else:
                    delta[i] = max(v, 0.0)
                    flags[i] = fl.RESET
                ref = v


def counter_deltas(
    offsets: I64,
    ts: I64,
    values: F64,
    rollover: F64,
    reset_share: float = DEFAULT_RESET_SHARE,
    wrap_share: float = DEFAULT_WRAP_SHARE,
) -> tuple[F64, I64, np.ndarray]:
    """(delta, interval start, flags) per reading; `rollover[s]` is NaN or 0 for none."""
    if rollover.shape[0] != offsets.shape[0] - 1:
        raise ValueError("one rollover value per series (NaN for none)")
    n = ts.shape[0]
    delta = np.empty(n, dtype=np.float64)
    start = np.empty(n, dtype=np.int64)
    flags = np.empty(n, dtype=np.uint8)
    _counter_deltas(
        offsets,
        ts,
        values,
        rollover.astype(np.float64),
        float(reset_share),
        float(wrap_share),
        delta,
        start,
        flags,
    )
    return delta, start, flags


def interval_deltas(ts: I64, values: F64) -> tuple[F64, I64, np.ndarray]:
    """The same triple for meters that report each interval's own consumption.

    The reading covers the period ending at its timestamp, so it is placed whole in the bucket
    that ends at or contains it (interval start = its own timestamp); a missed report stays
    missing instead of being spread over the gap. NaN is MISSING, a negative value NEGATIVE.
    """
    flags = np.zeros(ts.shape[0], dtype=np.uint8)
    missing = np.isnan(values)
    negative = values < 0.0
    flags[missing] = fl.MISSING
    flags[negative] = fl.NEGATIVE
    delta = np.where(missing | negative, 0.0, values)
    return delta, ts.copy(), flags
