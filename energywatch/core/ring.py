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


def clear_slots(values: npt.NDArray[np.floating], head: int, new_head: int) -> None:
    """Advance a ring from `head` to `new_head`: the slots of buckets (head, new_head] now
    hold those buckets and nothing has been stored for them yet."""
    n_slots = values.shape[-1]
    if new_head <= head:
        return
    if new_head - head >= n_slots:
        values[...] = np.nan
        return
    slots = np.arange(head + 1, new_head + 1) % n_slots
    values[..., slots] = np.nan
