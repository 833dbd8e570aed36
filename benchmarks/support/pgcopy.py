"""Loading benchmark data fast: binary COPY of NumPy record arrays already in wire layout."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import psycopg

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def copy_binary(conn: psycopg.Connection, table: str, columns: str, rows: np.ndarray) -> None:
    """COPY ... FROM STDIN (FORMAT BINARY) of a NumPy record array already in wire layout."""
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(statement) as cp:
        cp.write(header)
        step = 1_000_000
        for i in range(0, len(rows), step):
            cp.write(rows[i : i + step].tobytes())
        cp.write((-1).to_bytes(2, "big", signed=True))


def wire_dtype(columns: list[tuple[str, str]]) -> np.dtype:
    """The layout of one binary COPY tuple: a field count, then each column's length and value
    (big-endian); length fields are named l1, l2, ..."""
    fields = [("n", ">i2")]
    for k, (name, fmt) in enumerate(columns, start=1):
        fields += [(f"l{k}", ">i4"), (name, fmt)]
    return np.dtype(fields)


def wire_rows(dtype: np.dtype, n: int) -> np.ndarray:
    """`n` tuples of `dtype` with the field count and lengths filled in, values not."""
    rows = np.empty(n, dtype=dtype)
    names = list(dtype.names or ())[2::2]
    rows["n"] = len(names)
    for k, name in enumerate(names, start=1):
        rows[f"l{k}"] = dtype[name].itemsize
    return rows


READING = wire_dtype([("pid", ">i4"), ("ts", ">i8"), ("v", ">f8"), ("q", ">i2")])


def reading_rows(
    point_ids: list[int], start: datetime, minutes: int, kinds: list[str]
) -> np.ndarray:
    rows = wire_rows(READING, len(point_ids) * minutes)
    t0 = int((start - PG_EPOCH).total_seconds() * 1_000_000)
    ts = t0 + 60_000_000 * np.arange(minutes, dtype=np.int64)
    rng = np.random.default_rng(7)
    for k, (pid, kind) in enumerate(zip(point_ids, kinds, strict=True)):
        part = rows[k * minutes : (k + 1) * minutes]
        part["pid"] = pid
        part["ts"] = ts
        noise = rng.random(minutes)
        if kind == "cumulative":
            part["v"] = 1e5 + np.cumsum(10.0 + noise)
        elif kind == "instantaneous":
            part["v"] = 600.0 + 50.0 * noise
        else:
            part["v"] = 0.01 + 0.001 * noise
        part["q"] = 0
    return rows
