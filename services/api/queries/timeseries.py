"""Readings bucketed in SQL: the one place that knows the bucket widths and aggregates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa

Bucket = Literal["raw", "1m", "5m", "15m", "1h", "1d"]
Agg = Literal["avg", "min", "max", "sum", "first", "last", "count"]

WIDTHS: dict[str, str] = {"1m": "1 minute", "5m": "5 minutes", "15m": "15 minutes",
                          "1h": "1 hour"}
_AGG_SQL: dict[str, str] = {
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "sum": "sum(value)",
    "count": "count(*)::float8",
    "first": "(array_agg(value ORDER BY ts))[1]",
    "last": "(array_agg(value ORDER BY ts DESC))[1]",
}
ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00+00'"


def bucket_expr(bucket: Bucket) -> str:
    """SQL for the start of a reading's bucket; `:tz` is the site's timezone for days."""
    if bucket == "1d":
        return "(date_trunc('day', ts AT TIME ZONE :tz) AT TIME ZONE :tz)"
    return f"date_bin(INTERVAL '{WIDTHS[bucket]}', ts, {ORIGIN})"


def point_series(
    conn: sa.Connection, point_id: int, start: datetime, end: datetime, bucket: Bucket,
    agg: Agg, limit: int, timezone: str,
) -> list[tuple[datetime, float, int | None]]:
    params = {"p": point_id, "s": start, "e": end, "n": limit, "tz": timezone}
    if bucket == "raw":
        sql = ("SELECT ts, value, quality FROM readings WHERE point_id = :p AND ts >= :s"
               " AND ts < :e ORDER BY ts LIMIT :n")
        return [(r[0], r[1], r[2]) for r in conn.execute(sa.text(sql), params)]
    sql = (f"SELECT {bucket_expr(bucket)} AS t, {_AGG_SQL[agg]} AS v FROM readings"
           " WHERE point_id = :p AND ts >= :s AND ts < :e GROUP BY 1 ORDER BY 1 LIMIT :n")
    return [(r[0], r[1], None) for r in conn.execute(sa.text(sql), params)]


def live_series(
    conn: sa.Connection, point_ids: list[int], start: datetime, bucket: Bucket
) -> dict[int, list[tuple[datetime, float, float, float]]]:
    """Per point and bucket since `start`: (t, avg, sum, last value)."""
    sql = (f"SELECT point_id, {bucket_expr(bucket)} AS t, avg(value), sum(value),"
           " (array_agg(value ORDER BY ts DESC))[1]"
           " FROM readings WHERE point_id = ANY(:ids) AND ts >= :s"
           " GROUP BY 1, 2 ORDER BY 1, 2")
    out: dict[int, list[tuple[datetime, float, float, float]]] = {p: [] for p in point_ids}
    for pid, t, avg, total, last in conn.execute(sa.text(sql), {"ids": point_ids, "s": start}):
        out[pid].append((t, avg, total, last))
    return out


def latest_readings(
    conn: sa.Connection, point_ids: list[int]
) -> dict[int, tuple[datetime, float, int]]:
    sql = ("SELECT p.id, r.ts, r.value, r.quality FROM unnest(CAST(:ids AS int[])) AS p(id)"
           " CROSS JOIN LATERAL (SELECT ts, value, quality FROM readings"
           " WHERE point_id = p.id ORDER BY ts DESC LIMIT 1) r")
    return {pid: (ts, v, q) for pid, ts, v, q in conn.execute(sa.text(sql), {"ids": point_ids})}


def readings_since(
    conn: sa.Connection, cursors: dict[int, datetime], limit_per_point: int = 1000
) -> list[tuple[int, datetime, float, int]]:
    """Readings newer than each point's own cursor, oldest first.

    One cursor per point, not one for the site: devices of a site report on their own clocks
    and schedules, so a reading stored late for one point is still newer than what was sent
    for that point.
    """
    ids = list(cursors)
    afters = [cursors[i] for i in ids]
    sql = ("SELECT c.id, r.ts, r.value, r.quality"
           " FROM unnest(CAST(:ids AS int[]), CAST(:afters AS timestamptz[])) AS c(id, after)"
           " CROSS JOIN LATERAL (SELECT ts, value, quality FROM readings"
           " WHERE point_id = c.id AND ts > c.after ORDER BY ts LIMIT :n) r"
           " ORDER BY r.ts, c.id")
    rows = conn.execute(sa.text(sql), {"ids": ids, "afters": afters, "n": limit_per_point})
    return [(r[0], r[1], r[2], r[3]) for r in rows]
