"""Many rows to and from PostgreSQL as NumPy record arrays, without a Python object per value
(psycopg's `write_row` and `fetchall` make one per value).

To the server: binary COPY. A binary COPY tuple is a field count (int2) and, per field, its
length (int4) and its value, big-endian; with fixed-width, non-null columns every tuple has
the same size, so a whole stream is one record array built with `tobytes()`.
From the server: bytea values of fixed-width records, read with `frombuffer` (`fetch_packed`).
As a parameter: many integers as one binary int4[] (`Int4s`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 UTC: binary timestamps count µs from there
CHUNK_ROWS = 1_000_000
INT4_OID, INT4_ARRAY_OID = 23, 1007
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
PACKED_BYTES_PER_ROW = 1 << 20  # see fetch_packed


def wire_dtype(columns: list[tuple[str, str]]) -> np.dtype[Any]:
    """The layout of one tuple: a field count, then each column's length and value
    (big-endian NumPy formats such as ">i4", ">f8"); lengths are named length1, length2, ..."""
    fields = [("field_count", ">i2")]
    for k, (name, fmt) in enumerate(columns, start=1):
        fields += [(f"length{k}", ">i4"), (name, fmt)]
    return np.dtype(fields)


def _values(dtype: np.dtype[Any]) -> list[str]:
    return list(dtype.names or ())[2::2]


def wire_rows(dtype: np.dtype[Any], n: int) -> np.ndarray:
    """`n` tuples of `dtype` with the field count and lengths filled in, values not."""
    rows = np.empty(n, dtype=dtype)
    names = _values(dtype)
    rows["field_count"] = len(names)
    for k, name in enumerate(names, start=1):
        rows[f"length{k}"] = dtype[name].itemsize
    return rows


def copy_in(conn: psycopg.Connection, statement: str, rows: np.ndarray) -> None:
    """Run `COPY ... FROM STDIN (FORMAT BINARY)` with `rows` (from `wire_rows`)."""
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(HEADER)
        for i in range(0, len(rows), CHUNK_ROWS):
            copy.write(rows[i : i + CHUNK_ROWS].tobytes())
        copy.write(TRAILER)


def keys_per_packed_row(dtype: np.dtype[Any], records_per_key: int = 1) -> int:
    """How many keys (points) a packed row may hold, at `records_per_key` records of `dtype`
    each, within `PACKED_BYTES_PER_ROW` (see fetch_packed)."""
    return max(1, PACKED_BYTES_PER_ROW // (dtype.itemsize * records_per_key))


def fetch_packed(
    conn: psycopg.Connection, query: str, params: Any, dtype: np.dtype[Any]
) -> np.ndarray:
    """The records `query` packs into bytea values (one column; rows in order), as an array of
    `dtype`.

    COPY TO sends one message per row, which psycopg hands over one at a time; a query that
    concatenates fixed-width fields with the `*send` functions, e.g.
    `string_agg(int8send(a) || float8send(b), ''::bytea)`, comes back as values in binary
    format, read by `frombuffer` (big-endian formats such as ">i8", ">f8").

    A query that may pack much should spread its records over rows of at most
    `PACKED_BYTES_PER_ROW` (a GROUP BY on part of the key): each row is one message, and
    libpq keeps a connection's input buffer at the size of the largest message it ever
    received, the next power of two, until the connection closes. One 10 MB value left 16 MB
    on each of alerting's long-lived connections (docs/alerting.md, "A connection keeps the
    size of its largest message")."""
    rows = conn.execute(query, params, binary=True).fetchall()
    data = b"".join(bytes(r[0]) for r in rows if r[0] is not None)
    del rows
    if len(data) % dtype.itemsize:
        raise ValueError(f"{len(data)} bytes are no whole number of {dtype.itemsize}-byte records")
    return np.frombuffer(data, dtype=dtype)


class Int4s:
    """Integers sent as one binary int4[] query parameter, built by NumPy in one step.
    psycopg's own list dumper converts element by element: 0.8 ms for a batch's 4,000 bucket
    numbers, and for a province's 200,000 point ids about 30 MB of short-lived objects."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[int] | npt.NDArray[np.integer]) -> None:
        array = np.asarray(values, dtype=np.int64)
        if array.size and (array.min() < INT4_MIN or array.max() > INT4_MAX):
            raise OverflowError("a value does not fit in int4")
        self.values = array


class _Int4sDumper(Dumper):
    format = pq.Format.BINARY
    oid = INT4_ARRAY_OID

    def dump(self, obj: Int4s) -> bytes:
        n = len(obj.values)
        if not n:
            return struct.pack(">iii", 0, 0, INT4_OID)
        elements = np.empty(n, dtype=[("len", ">i4"), ("value", ">i4")])
        elements["len"] = 4
        elements["value"] = obj.values
        return struct.pack(">iiiii", 1, 0, INT4_OID, n, 1) + elements.tobytes()


psycopg.adapters.register_dumper(Int4s, _Int4sDumper)
