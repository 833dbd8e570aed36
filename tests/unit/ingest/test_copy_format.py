from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.ingest.copy_format import (
    BUCKET_US,
    bucket_index,
    bucket_start,
    dirty_buckets,
    encode_rows,
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
    rows = encode_rows([7, 8], [123, -5], [1.5, -0.0], [2, 0])
    assert list(struct.iter_unpack(">hiiiqidih", rows)) == [
        (4, 4, 7, 8, 123, 8, 1.5, 2, 2),
        (4, 4, 8, 8, -5, 8, -0.0, 2, 0),
    ]
    numbered = encode_rows([7, 8], [123, -5], [1.5, 2.5], [2, 0], numbered=True)
    assert list(struct.iter_unpack(">hiiiiiqidih", numbered)) == [
        (5, 4, 0, 4, 7, 8, 123, 8, 1.5, 2, 2),
        (5, 4, 1, 4, 8, 8, -5, 8, 2.5, 2, 0),
    ]


_instants = st.integers(-(2**40), 2**52)


@given(st.lists(st.tuples(st.integers(1, 2**31 - 1), _instants), max_size=50))
def test_dirty_buckets_are_the_distinct_pairs_in_sql_order(pairs: list[tuple[int, int]]) -> None:
    ids, buckets = dirty_buckets([p for p, _ in pairs], [t for _, t in pairs])
    expected = sorted({(p, t // BUCKET_US) for p, t in pairs})
    assert list(zip(ids.tolist(), buckets.tolist(), strict=True)) == expected
