"""A small registry and readings written straight into a test database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

START = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)  # 2026-11-20 00:00 in Asia/Shanghai


def make_site(conn: psycopg.Connection, code: str = "S1") -> int:
    row = conn.execute(
        """
        INSERT INTO sites (code, name, kind, division_code, timezone, factor_set, grid_region)
        VALUES (%s, %s, 'enterprise', '140100', 'Asia/Shanghai',
                (SELECT min(code) FROM factor_sets), 'north')
        RETURNING id
        """,
        (code, f"site {code}"),
    ).fetchone()
    assert row is not None
    return int(row[0])


def make_point(
    conn: psycopg.Connection,
    site_id: int,
    code: str,
    measure: str,
    kind: str,
    rollover: float | None = None,
    scale: float = 1.0,
) -> int:
    device = conn.execute(
        "INSERT INTO devices (site_id, code) VALUES (%s, %s) "
        "ON CONFLICT (site_id, code) DO UPDATE SET code = EXCLUDED.code RETURNING id",
        (site_id, "D1"),
    ).fetchone()
    assert device is not None
    row = conn.execute(
        """
        INSERT INTO points (site_id, device_id, code, measure, unit, kind, rollover, scale)
        VALUES (%s, %s, %s, %s, (SELECT unit FROM measures WHERE code = %s), %s, %s, %s)
        RETURNING id
        """,
        (site_id, device[0], code, measure, measure, kind, rollover, scale),
    ).fetchone()
    assert row is not None
    return int(row[0])


def write_readings(
    conn: psycopg.Connection, point_id: int, rows: Sequence[tuple[datetime, float, int]]
) -> None:
    """Insert readings and mark their buckets dirty, as ingest does."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (point_id, ts, value, quality) VALUES (%s, %s, %s, %s)",
            [(point_id, ts, v, q) for ts, v, q in rows],
        )
        cur.execute(
            """
            INSERT INTO dirty_buckets (point_id, bucket)
            SELECT DISTINCT point_id, date_bin('15 minutes', ts, TIMESTAMPTZ '2000-01-01 00:00+00')
              FROM readings WHERE point_id = %s AND ts = ANY(%s)
            ON CONFLICT (point_id, bucket) DO UPDATE
               SET marked_at = least(dirty_buckets.marked_at, excluded.marked_at)
            """,
            (point_id, [ts for ts, _, _ in rows]),
        )
    conn.commit()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def buckets_of(
    conn: psycopg.Connection, point_id: int
) -> list[tuple[datetime, float, float, float, float]]:
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in conn.execute(
            "SELECT bucket, quantity, tce, tco2, completeness FROM consumption_15min"
            " WHERE point_id = %s ORDER BY bucket",
            (point_id,),
        )
    ]


def scalar(conn: psycopg.Connection, sql: str, params: tuple[object, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]
