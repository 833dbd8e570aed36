"""Trailing-window sums over a ring of 15-minute buckets (the alerting service's rollup cache,
services/alerting/rollup_cache.py).

A ring holds, for each of its rows (points), the last `n_slots` buckets: bucket number `b`
(15-minute buckets since the epoch) lives in slot `b % n_slots` as long as
`head - n_slots < b <= head`, where `head` is the newest bucket the ring has seen. A slot with
no row for its bucket holds NaN. The ring keeps no bucket number per slot: when `head`
advances, the slots it passes are cleared (`clear_slots`), so the slot's bucket is implied.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from energywatch.core.jit import kernel
from energywatch.core.thresholds import F64, I64


@kernel
def _window_sums(values, rows, lo, hi, head, out, counts):  # type: ignore[no-untyped-def]
    n_cols, _, n_slots = values.shape
    oldest = head - n_slots + 1
    for j in range(rows.size):
        r = rows[j]
        if r < 0:
            continue
        for b in range(max(lo[j], oldest), min(hi, head + 1)):
            s = b % n_slots
            first = values[0, r, s]
            if first != first:  # no row for that bucket
                continue
            counts[j] += 1
            for c in range(n_cols):
                out[c, j] += values[c, r, s]


def window_sums(
    values: npt.NDArray[np.floating], rows: I64, lo: I64, hi: int, head: int
) -> tuple[F64, I64]:
    """Per entry of `rows` (a row of `values`, shape (columns, rows, slots); -1: none), the
    sums of each column over buckets [lo[j], hi) and how many buckets had a row there.
    Sums are float64 whatever the ring's own type."""
    out = np.zeros((values.shape[0], rows.size))
    counts = np.zeros(rows.size, np.int64)
    if rows.size:
        _window_sums(values, rows, lo, int(hi), int(head), out, counts)
    return out, counts


# Shares (completeness, 0..1) kept as 16-bit fixed point: 1/65534 steps, so a bucket's share
# is within 7.6e-6 of what was stored and a day's sum of 96 within 7.3e-4 of 96 (a rule's value,
# the sum over the buckets expected, within 7.6e-6); 65535 marks a slot with no row. Half the
# memory of float32 for a province's 200,000 points x 109 slots (44 MB instead of 87).
SHARE_SCALE = 65534
NO_SHARE = 65535


def to_shares(values: npt.ArrayLike) -> npt.NDArray[np.uint16]:
    """Shares in [0, 1] (clipped) as fixed point."""
    clipped = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.rint(clipped * SHARE_SCALE).astype(np.uint16)


@kernel
def _share_sums(shares, rows, lo, hi, head, out):  # type: ignore[no-untyped-def]
    _, n_slots = shares.shape
    oldest = head - n_slots + 1
    for j in range(rows.size):
        r = rows[j]
        if r < 0:
            continue
        total = 0
        for b in range(max(lo, oldest), min(hi, head + 1)):
            q = shares[r, b % n_slots]
            if q != 65535:
                total += q
        out[j] = total / 65534.0


def share_sums(shares: npt.NDArray[np.uint16], rows: I64, lo: int, hi: int, head: int) -> F64:
    """Per entry of `rows` (a row of `shares`; -1: none), the sum of its shares over buckets
    [lo, hi), slots without a row counting 0."""
    out = np.zeros(rows.size)
    if rows.size:
        _share_sums(shares, rows, int(lo), int(hi), int(head), out)
    return out


def clear_slots(values: npt.NDArray[np.generic], head: int, new_head: int) -> None:
    """Advance a ring from `head` to `new_head`: the slots of buckets (head, new_head] now
    hold those buckets and nothing has been stored for them yet (NaN, or NO_SHARE in a ring
    of shares)."""
    n_slots = values.shape[-1]
    empty = NO_SHARE if values.dtype == np.uint16 else np.nan
    if new_head <= head:
        return
    if new_head - head >= n_slots:
        values[...] = empty
        return
    slots = np.arange(head + 1, new_head + 1) % n_slots
    values[..., slots] = empty
