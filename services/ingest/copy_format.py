"""PostgreSQL binary COPY rows for readings, encoded ahead of the write (pure).

The pipeline thread encodes each accepted reading as it arrives, so the writer thread only
streams bytes to the server. Row layout: (point_id int4, ts timestamptz, value float8,
quality int2), timestamps as microseconds since 2000-01-01 UTC.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_ROW = struct.Struct(">hiiiqidih")

# Buckets follow the storage contract: date_bin('15 minutes', ts, '2000-01-01 00:00+00').
BUCKET = timedelta(minutes=15)
BUCKET_US = BUCKET // _ONE_US


def pg_microseconds(ts: datetime) -> int:
    """Microseconds since 2000-01-01 UTC, exactly (no float on the way)."""
    return (ts - PG_EPOCH) // _ONE_US


def encode_row(point_id: int, ts_us: int, value: float, quality: int) -> bytes:
    return _ROW.pack(4, 4, point_id, 8, ts_us, 8, value, 2, quality)


def bucket_index(ts_us: int) -> int:
    """Which 15-minute bucket, counted from 2000-01-01 00:00 UTC, holds the instant."""
    return ts_us // BUCKET_US


def bucket_start(index: int) -> datetime:
    return PG_EPOCH + index * BUCKET
