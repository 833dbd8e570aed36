from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

from services.ingest.copy_format import (
    bucket_index,
    bucket_start,
    encode_row,
    pg_microseconds,
)

CST = timezone(timedelta(hours=8))


def test_microseconds_are_exact_and_offset_independent() -> None:
    assert pg_microseconds(datetime(2000, 1, 1, tzinfo=UTC)) == 0
    utc = datetime(2026, 11, 20, 0, 14, 59, 999_999, tzinfo=UTC)
    assert pg_microseconds(utc) == pg_microseconds(utc.astimezone(CST))
    assert pg_microseconds(utc + timedelta(microseconds=1)) - pg_microseconds(utc) == 1


def test_buckets_are_fifteen_minutes_from_2000_utc() -> None:
    last = datetime(2026, 11, 20, 8, 14, 59, 999_999, tzinfo=CST)
    first = datetime(2026, 11, 20, 8, 15, tzinfo=CST)
    k = bucket_index(pg_microseconds(first))
    assert bucket_index(pg_microseconds(last)) == k - 1
    assert bucket_start(k) == first
    assert bucket_start(
        bucket_index(pg_microseconds(datetime(1999, 12, 31, 23, 59, tzinfo=UTC)))
    ) == datetime(1999, 12, 31, 23, 45, tzinfo=UTC)


def test_row_layout() -> None:
    row = encode_row(7, 123, 1.5, 2)
    assert struct.unpack(">hiiiqidih", row) == (4, 4, 7, 8, 123, 8, 1.5, 2, 2)
