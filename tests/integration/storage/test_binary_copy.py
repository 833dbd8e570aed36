"""NumPy record arrays to and from a real PostgreSQL (energywatch/storage/binary_copy.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest

from energywatch.storage.binary_copy import (
    PG_EPOCH_MS,
    Int4s,
    copy_in,
    fetch_packed,
    wire_dtype,
    wire_rows,
)

ROW = wire_dtype([("id", ">i4"), ("at", ">i8"), ("v", ">f8"), ("q", ">i2")])
PACKED = np.dtype([("id", ">i4"), ("at_ms", ">i8"), ("v", ">f8"), ("q", ">i2")])
PACK = """
    SELECT string_agg(int4send(id)
                      || int8send((extract(epoch FROM at) * 1000)::int8)
                      || float8send(v) || int2send(q), ''::bytea ORDER BY id)
      FROM t WHERE id >= %s
"""


@pytest.fixture
def conn(empty_db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(empty_db_url, autocommit=True) as c:
        c.execute("CREATE TABLE t (id int4 PRIMARY KEY, at timestamptz, v float8, q int2)")
        yield c


def test_rows_written_by_copy_come_back_packed_with_every_bit(conn: psycopg.Connection) -> None:
    n = 2_500
    at_ms = 1_795_104_000_000 + 60_000 * np.arange(n, dtype=np.int64)
    values = np.random.default_rng(3).normal(size=n) * 1e6
    rows = wire_rows(ROW, n)
    rows["id"] = np.arange(n)
    rows["at"] = (at_ms - PG_EPOCH_MS) * 1000
    rows["v"] = values
    rows["q"] = np.arange(n) % 3
    copy_in(conn, "COPY t (id, at, v, q) FROM STDIN (FORMAT BINARY)", rows)

    first = conn.execute("SELECT at, v FROM t WHERE id = 1").fetchone()
    assert first == (datetime.fromtimestamp(int(at_ms[1]) / 1000, UTC), float(values[1]))
    back = fetch_packed(conn, PACK, (0,), PACKED)
    assert back.shape == (n,)
    assert (back["id"] == np.arange(n)).all()
    assert (back["at_ms"] == at_ms).all()
    assert (back["v"] == values).all()  # exact: binary, not text
    assert (back["q"] == np.arange(n) % 3).all()


def test_records_spread_over_rows_come_back_in_row_order(conn: psycopg.Connection) -> None:
    # Each row is one message; rows of a bounded size keep libpq's input buffer bounded.
    conn.execute(
        "INSERT INTO t SELECT i, TIMESTAMPTZ 'epoch' + i * INTERVAL '1 s', i * 0.5, 1"
        " FROM generate_series(0, 999) i"
    )
    per_row = PACK.replace("WHERE id >= %s", "WHERE id >= %s GROUP BY id / 7 ORDER BY id / 7")
    assert conn.execute(f"SELECT count(*) FROM ({per_row}) x", (0,)).fetchone() == (143,)
    back = fetch_packed(conn, per_row, (0,), PACKED)
    assert (back["id"] == np.arange(1000)).all()
    assert (back["v"] == np.arange(1000) * 0.5).all()


def test_no_rows_is_an_empty_array(conn: psycopg.Connection) -> None:
    assert fetch_packed(conn, PACK, (0,), PACKED).shape == (0,)


def test_records_of_another_width_are_refused(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO t VALUES (1, now(), 1.5, 0)")
    narrower = np.dtype([("id", ">i4"), ("at_ms", ">i8"), ("v", ">f8")])
    with pytest.raises(ValueError, match="no whole number of 20-byte records"):
        fetch_packed(conn, PACK, (0,), narrower)


def test_integers_go_as_one_int4_array(conn: psycopg.Connection) -> None:
    for values in ([], [0], [5, -7, 2**31 - 1, -(2**31)]):
        for sent in (values, np.array(values, dtype=np.int32), tuple(values)):
            assert conn.execute("SELECT %b::int4[]", (Int4s(sent),)).fetchone() == (values,)
            assert conn.execute("SELECT %s", (Int4s(sent),)).fetchone() == (values,)
    conn.execute("INSERT INTO t (id) SELECT generate_series(1, 5)")
    found = conn.execute(
        "SELECT array_agg(id ORDER BY id) FROM t WHERE id = ANY(%s)", (Int4s([2, 4, 9]),)
    )
    assert found.fetchone() == ([2, 4],)


def test_an_integer_beyond_int4_is_refused_not_wrapped() -> None:
    with pytest.raises(OverflowError):
        Int4s([2**31])
