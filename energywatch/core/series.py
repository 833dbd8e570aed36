"""The CSR layout the kernels share: flat arrays plus per-series offsets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Series:
    """Many series in one set of arrays, sorted by (series, ts) without duplicate timestamps."""

    offsets: I64  # length n_series + 1
    ts: I64  # ms since the epoch, ascending within a series
    values: F64

    @property
    def n_series(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def of(self, s: int) -> tuple[I64, F64]:
        a, b = self.offsets[s], self.offsets[s + 1]
        return self.ts[a:b], self.values[a:b]


def offsets_from_sorted_ids(series_ids: npt.ArrayLike, n_series: int) -> I64:
    """Offsets for ids already sorted ascending, each in [0, n_series)."""
    ids = np.asarray(series_ids, dtype=np.int64)
    return np.searchsorted(ids, np.arange(n_series + 1, dtype=np.int64), side="left").astype(
        np.int64
    )


def build_series(
    series_ids: npt.ArrayLike, ts: npt.ArrayLike, values: npt.ArrayLike, n_series: int
) -> Series:
    """Sort readings by (series, ts) and keep the last one given for a repeated timestamp.

    Input may be in any order; "last" means last in the input, as a later delivery of the same
    reading replaces an earlier one.
    """
    ids = np.asarray(series_ids, dtype=np.int64)
    t = np.asarray(ts, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if not (ids.shape == t.shape == v.shape):
        raise ValueError("series_ids, ts and values must have the same length")
    if ids.size and (ids.min() < 0 or ids.max() >= n_series):
        raise ValueError(f"series ids must lie in [0, {n_series})")
    order = np.lexsort((t, ids))  # stable: equal keys keep input order
    ids, t, v = ids[order], t[order], v[order]
    if ids.size:
        is_last = np.ones(ids.size, dtype=bool)
        is_last[:-1] = (ids[1:] != ids[:-1]) | (t[1:] != t[:-1])
        ids, t, v = ids[is_last], t[is_last], v[is_last]
    return Series(offsets_from_sorted_ids(ids, n_series), t, v)
