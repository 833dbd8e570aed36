"""Loading benchmark data fast: binary COPY of NumPy record arrays already in wire layout."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import psycopg

from energywatch.storage.binary_copy import copy_in, wire_dtype, wire_rows

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def copy_binary(conn: psycopg.Connection, table: str, columns: str, rows: np.ndarray) -> None:
    """COPY ... FROM STDIN (FORMAT BINARY) of a NumPy record array already in wire layout."""
    copy_in(conn, f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)", rows)


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
