"""Daily totals per point and local day: the `consumption_daily` table, kept by the rollup.

A regional ranking of a month sums, for a thousand enterprises, every 15-minute bucket of
the month: about 2,900 buckets per point. Grouped on the fly (a view over consumption_15min
or the hourly aggregate) that took seconds; read from one row per point and day it takes
tens of milliseconds. TimescaleDB's continuous aggregates cannot hold these days, because
each site keeps its own time zone and an aggregate buckets every row in one zone; and plain
PostgreSQL has none. So the rollup, which is the only writer of consumption_15min, keeps the
days it touches in the same transaction (`kept`): the daily table is never behind or ahead of
the 15-minute one.

It keeps them by difference: the sums of the buckets it is about to replace are taken off
their days, and the sums of the new buckets added. A live pass replaces one bucket a point, so
this reads two rows a point, where recomputing the day read up to 96 (the whole day so far),
which in a province was the largest of the rollup's statements. The sums so kept differ
from a fresh sum of the day's buckets by rounding only (about 1e-13 of the day's total after
a day of minute updates). A day whose last bucket went is removed.

Completeness of a day = the sum of its buckets' completeness ÷ the quarter-hours the local
day has (96 in China, 92 or 100 on a daylight-saving change elsewhere).

Anything that writes consumption_15min by other means (a bulk load, a test's fixture) calls
`refresh_all` afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import psycopg
import sqlalchemy as sa

from energywatch.core.buckets import BUCKET_MS
from energywatch.storage.binary_copy import fetch_packed
from energywatch.storage.timescale import MONTHLY_VIEW

TABLE_DDL = """
    CREATE TABLE consumption_daily (
        point_id int4 NOT NULL REFERENCES points (id) ON DELETE CASCADE,
        day date NOT NULL,
        quantity float8 NOT NULL,
        tce float8 NOT NULL,
        tco2 float8 NOT NULL,
        completeness float8 NOT NULL,
        computed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_consumption_daily PRIMARY KEY (point_id, day)
    )
"""


def _day_start(day: str, tz: str) -> str:
    return f"(CAST({day} AS timestamp) AT TIME ZONE {tz})"


def _day_end(day: str, tz: str) -> str:
    return f"(CAST({day} + 1 AS timestamp) AT TIME ZONE {tz})"


def _sums(day: str, tz: str) -> str:
    quarter_hours = f"extract(epoch FROM {_day_end(day, tz)} - {_day_start(day, tz)}) / 900.0"
    return f"sum(c.quantity), sum(c.tce), sum(c.tco2), sum(c.completeness) / ({quarter_hours})"


_LOCAL_DAY = "(c.bucket AT TIME ZONE s.timezone)::date"

REFRESH_ALL = f"""
    INSERT INTO consumption_daily (point_id, day, quantity, tce, tco2, completeness)
    SELECT c.point_id, {_LOCAL_DAY}, {_sums(_LOCAL_DAY, "s.timezone")}
      FROM consumption_15min c
      JOIN points p ON p.id = c.point_id
      JOIN sites s ON s.id = p.site_id
     GROUP BY c.point_id, s.timezone, {_LOCAL_DAY}
"""

# The local days that (point, start ms, end ms) pieces of at most PIECE_MS touch, in the point's
# site zone: the day of each end (a piece of 12 hours reaches at most two local days, even on a
# 23-hour day). Two fixed rows per piece, rather than a generate_series of days, let the planner
# see how few they are and reach consumption_daily through its key, not by a scan of it.
PIECE_MS = 12 * 3_600_000
_TOUCHED = """
    WITH touched AS (
        SELECT DISTINCT r.point_id, d.day, s.timezone
          FROM unnest(%(point_ids)s::int4[], %(lo)s::int8[], %(hi)s::int8[])
               AS r(point_id, lo, hi)
          JOIN points p ON p.id = r.point_id
          JOIN sites s ON s.id = p.site_id
         CROSS JOIN LATERAL (VALUES
               (((TIMESTAMPTZ 'epoch' + r.lo * INTERVAL '1 millisecond')
                 AT TIME ZONE s.timezone)::date),
               (((TIMESTAMPTZ 'epoch' + (r.hi - 1) * INTERVAL '1 millisecond')
                 AT TIME ZONE s.timezone)::date)) AS d(day)
    )
"""

# The days of the ranges that no bucket is left in.
_DROP_EMPTY = (
    _TOUCHED
    + f"""
    DELETE FROM consumption_daily c USING touched t
     WHERE c.point_id = t.point_id AND c.day = t.day
       AND NOT EXISTS (SELECT FROM consumption_15min b
                        WHERE b.point_id = t.point_id
                          AND b.bucket >= {_day_start("t.day", "t.timezone")}
                          AND b.bucket < {_day_end("t.day", "t.timezone")})
"""
)

# The ranges' buckets as they are, before the caller replaces them: one index probe per range
# (a LATERAL subquery kept as one by OFFSET 0: joined plainly, the planner sorts every bucket
# between the constant bounds). The
# constant bounds (all ranges' first and last instants) let TimescaleDB leave out the chunks
# outside them.
_OLD_BUCKETS = """
    SELECT string_agg(int4send(r.point_id)
                      || int8send((extract(epoch FROM c.bucket) * 1000)::int8)
                      || float8send(c.quantity) || float8send(c.tce) || float8send(c.tco2)
                      || float8send(c.completeness), ''::bytea)
      FROM unnest(%(point_ids)s::int4[], %(lo)s::int8[], %(hi)s::int8[]) AS r(point_id, lo, hi)
     CROSS JOIN LATERAL (
           SELECT * FROM consumption_15min c
            WHERE c.point_id = r.point_id
              AND c.bucket >= (TIMESTAMPTZ 'epoch' + r.lo * INTERVAL '1 millisecond')
              AND c.bucket < (TIMESTAMPTZ 'epoch' + r.hi * INTERVAL '1 millisecond')
              AND c.bucket >= %(first)s AND c.bucket < %(last)s
           OFFSET 0) c
"""
# consumption_15min's columns with their binary types; `bucket` is an int8 of ms since the
# epoch here, of µs since 2000 on the COPY wire (services/rollup/store.py)
BUCKET_COLUMNS = [
    ("point_id", ">i4"),
    ("bucket", ">i8"),
    ("quantity", ">f8"),
    ("tce", ">f8"),
    ("tco2", ">f8"),
    ("completeness", ">f8"),
]
BUCKET_ROW = np.dtype(BUCKET_COLUMNS)

# Add per-bucket differences to their local days (each point's zone by its key, OFFSET 0 as
# above: joined plainly, the planner hashes the whole points table for a few thousand rows).
_X_DAY = _LOCAL_DAY.replace("c.", "x.")
_ADD = f"""
    INSERT INTO consumption_daily AS d (point_id, day, quantity, tce, tco2, completeness)
    SELECT x.point_id, {_X_DAY}, sum(x.quantity), sum(x.tce), sum(x.tco2),
           sum(x.completeness)
             / (extract(epoch FROM {_day_end(_X_DAY, "s.timezone")}
                                   - {_day_start(_X_DAY, "s.timezone")}) / 900.0)
      FROM (SELECT u.point_id, TIMESTAMPTZ 'epoch' + u.ms * INTERVAL '1 millisecond' AS bucket,
                   u.quantity, u.tce, u.tco2, u.completeness
              FROM unnest(%(point_id)b::int4[], %(bucket)b::int8[], %(quantity)b::float8[],
                          %(tce)b::float8[], %(tco2)b::float8[], %(completeness)b::float8[])
                   AS u(point_id, ms, quantity, tce, tco2, completeness)) x
     CROSS JOIN LATERAL (SELECT s.timezone FROM points p JOIN sites s ON s.id = p.site_id
                          WHERE p.id = x.point_id OFFSET 0) s
     GROUP BY x.point_id, s.timezone, {_X_DAY}
    ON CONFLICT (point_id, day) DO UPDATE
       SET quantity = d.quantity + excluded.quantity,
           tce = d.tce + excluded.tce,
           tco2 = d.tco2 + excluded.tco2,
           completeness = d.completeness + excluded.completeness,
           computed_at = now()
"""
SUMS = ("quantity", "tce", "tco2", "completeness")


class Buckets(Protocol):
    """Rows of consumption_15min as arrays (`bucket`: ms since the epoch)."""

    @property
    def point_id(self) -> npt.NDArray[np.int64]: ...
    @property
    def bucket(self) -> npt.NDArray[np.int64]: ...
    @property
    def quantity(self) -> npt.NDArray[np.float64]: ...
    @property
    def tce(self) -> npt.NDArray[np.float64]: ...
    @property
    def tco2(self) -> npt.NDArray[np.float64]: ...
    @property
    def completeness(self) -> npt.NDArray[np.float64]: ...


# Migration 0003_daily_table: the daily view of 0002 becomes this table, filled from the
# buckets already rolled up; the monthly view is recreated over it.
REPLACE_VIEWS = [
    "DROP VIEW consumption_monthly",
    "DROP VIEW consumption_daily",
    TABLE_DDL,
    REFRESH_ALL,
    MONTHLY_VIEW,
]


def _net(new: Buckets, old: npt.NDArray[Any]) -> dict[str, npt.NDArray[Any]]:
    """Per (point, bucket): the new sums less the old (a live pass rewrites the same buckets,
    so half as many rows go to the database)."""
    point = np.concatenate([new.point_id, old["point_id"]]).astype(np.int64)
    bucket = np.concatenate([new.bucket, old["bucket"]]).astype(np.int64)
    keys, row = np.unique((point << 32) | (bucket // BUCKET_MS), return_inverse=True)
    net: dict[str, npt.NDArray[Any]] = {
        "point_id": keys >> 32,
        "bucket": (keys & 0xFFFFFFFF) * BUCKET_MS,
    }
    for name in SUMS:  # the new buckets' sums on, the old ones' off
        signed = np.concatenate([getattr(new, name), -old[name].astype(np.float64)])
        net[name] = np.bincount(row.reshape(-1), weights=signed, minlength=keys.size)
    return net


@contextmanager
def kept(
    conn: psycopg.Connection,
    point_ids: Sequence[int],
    lo_ms: Sequence[int],
    hi_ms: Sequence[int],
    new: Buckets,
    emptied: Sequence[int] = (),
) -> Iterator[None]:
    """Keep the daily totals of the days that the ranges [lo, hi) of the points touch while
    the block replaces the ranges' buckets by `new` (in the caller's transaction): the
    buckets are read before the block, and each day gets the difference after it. `emptied`:
    indices of the ranges that `new` does not fill; a day of theirs left without buckets is
    removed."""
    if not point_ids:
        yield
        return
    params: dict[str, Any] = {
        "point_ids": list(point_ids),
        "lo": list(lo_ms),
        "hi": list(hi_ms),
        "first": datetime.fromtimestamp(min(lo_ms) / 1000, UTC),
        "last": datetime.fromtimestamp(max(hi_ms) / 1000, UTC),
    }
    old = fetch_packed(conn, _OLD_BUCKETS, params, BUCKET_ROW)
    yield
    delta = _net(new, old)
    if delta["point_id"].size:
        # arrays sent binary (%b): as text, parsing them took longer than the statement's work;
        # no JIT: compiling it costs more than a few thousand rows' grouping
        conn.execute("SET LOCAL jit = off")
        conn.execute(_ADD, {name: values.tolist() for name, values in delta.items()})
    pieces = [
        (point_ids[i], start, min(start + PIECE_MS, hi_ms[i]))
        for i in emptied
        for start in range(lo_ms[i], hi_ms[i], PIECE_MS)
    ]
    if pieces:
        points, starts, ends = zip(*pieces, strict=True)
        conn.execute(_DROP_EMPTY, {"point_ids": list(points), "lo": list(starts), "hi": list(ends)})


def refresh_all(conn: psycopg.Connection | sa.Connection) -> None:
    """Rebuild the whole table from consumption_15min (after a bulk load), in the caller's
    transaction; `conn` is a psycopg or a SQLAlchemy connection."""
    for statement in ("DELETE FROM consumption_daily", REFRESH_ALL):
        if isinstance(conn, sa.Connection):
            conn.exec_driver_sql(statement)
        else:
            conn.execute(statement)
