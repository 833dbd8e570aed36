"""PostgreSQL binary COPY rows for readings, and the 15-minute buckets they touch (pure).

A batch's readings arrive as columns and leave as one bytes object built by NumPy: row layout
(point_id int4, ts timestamptz, value float8, quality int2), each field preceded by its length,
timestamps as microseconds since 2000-01-01 UTC; the staging table's rows start with the
reading's number in the batch (int4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

# Buckets follow the storage contract: date_bin('15 minutes', ts, '2000-01-01 00:00+00').
BUCKET = timedelta(minutes=15)
BUCKET_US = BUCKET // _ONE_US

_FIELDS = [("lp", ">i4"), ("p", ">i4"), ("lt", ">i4"), ("t", ">i8")]
_FIELDS += [("lv", ">i4"), ("v", ">f8"), ("lq", ">i4"), ("q", ">i2")]
_ROW = np.dtype([("n", ">i2"), *_FIELDS])
_NUMBERED_ROW = np.dtype([("n", ">i2"), ("ln", ">i4"), ("i", ">i4"), *_FIELDS])
_BIAS = 2**31


def pg_microseconds(ts: datetime) -> int:
    """Microseconds since 2000-01-01 UTC, exactly (no float on the way)."""
    return (ts - PG_EPOCH) // _ONE_US


def encode_rows(
    point_ids: Sequence[int],
    ts_us: Sequence[int],
    values: Sequence[float],
    qualities: Sequence[int],
    *,
    numbered: bool = False,
) -> bytes:
    """The COPY rows (without header and trailer) of `readings`, or of the staging table, in
    (point_id, ts) order; a staging row carries its reading's number in the arguments' order.

    Sorted rows go into the primary-key index point by point, and concurrent writers take
    that index's locks in the same order, so two batches holding the same keys (a
    redelivery) wait for each other instead of deadlocking.
    """
    ids = np.asarray(point_ids, dtype=np.int64)
    us = np.asarray(ts_us, dtype=np.int64)
    order = np.lexsort((us, ids))
    rows = np.empty(len(ids), dtype=_NUMBERED_ROW if numbered else _ROW)
    if numbered:
        rows["n"], rows["ln"] = 5, 4
        rows["i"] = order
    else:
        rows["n"] = 4
    rows["lp"], rows["lt"], rows["lv"], rows["lq"] = 4, 8, 8, 2
    rows["p"] = ids[order]
    rows["t"] = us[order]
    rows["v"] = np.asarray(values, dtype=np.float64)[order]
    rows["q"] = np.asarray(qualities, dtype=np.int16)[order]
    return rows.tobytes()


def dirty_buckets(
    point_ids: Sequence[int], ts_us: Sequence[int]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The distinct (point_id, bucket index) pairs, in SQL's order of (point_id, bucket)."""
    # One int64 key per pair: point id in the high half, bucket index biased by 2**31 (so that
    # buckets before 2000 sort first) in the low half.
    buckets = np.asarray(ts_us, dtype=np.int64) // BUCKET_US + _BIAS
    keys = np.unique((np.asarray(point_ids, dtype=np.int64) << 32) | buckets)
    return (keys >> 32).astype(np.int32), ((keys & 0xFFFF_FFFF) - _BIAS).astype(np.int32)


def bucket_index(ts_us: int) -> int:
    """Which 15-minute bucket, counted from 2000-01-01 00:00 UTC, holds the instant."""
    return ts_us // BUCKET_US


def bucket_start(index: int) -> datetime:
    return PG_EPOCH + index * BUCKET
