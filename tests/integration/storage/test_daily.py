"""consumption_daily against a real PostgreSQL: local days, daylight saving, partial refresh."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from energywatch.storage import daily
from tests.integration.rollup.support import make_point, make_site

QUARTER = timedelta(minutes=15)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        yield c


def _buckets(conn: psycopg.Connection, point: int, first: datetime, n: int, qty: float) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness)"
            " VALUES (%s, %s, %s, %s, %s, 1.0)",
            [(point, first + k * QUARTER, qty, qty / 10, qty / 5) for k in range(n)],
        )


def _days(conn: psycopg.Connection, point: int) -> list[tuple[str, float, float]]:
    rows = conn.execute(
        "SELECT day::text, quantity, completeness FROM consumption_daily"
        " WHERE point_id = %s ORDER BY day",
        (point,),
    ).fetchall()
    return [(d, q, c) for d, q, c in rows]


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def test_days_follow_the_site_time_zone(conn: psycopg.Connection) -> None:
    point = make_point(conn, make_site(conn), "E", "electricity", "cumulative")
    # 15:45 UTC on the 1st is 23:45 on the 1st in Shanghai; 16:00 UTC is the 2nd.
    _buckets(conn, point, datetime(2026, 11, 1, 15, 45, tzinfo=UTC), 2, 5.0)
    daily.refresh_all(conn)
    assert _days(conn, point) == [
        ("2026-11-01", 5.0, pytest.approx(1 / 96)),
        ("2026-11-02", 5.0, pytest.approx(1 / 96)),
    ]
    month = conn.execute(
        "SELECT month::text, quantity FROM consumption_monthly WHERE point_id = %s", (point,)
    ).fetchall()
    assert month == [("2026-11-01", 10.0)]


def test_a_daylight_saving_day_is_complete_with_100_quarter_hours(
    conn: psycopg.Connection,
) -> None:
    site = make_site(conn)
    conn.execute("UPDATE sites SET timezone = 'Europe/Berlin' WHERE id = %s", (site,))
    point = make_point(conn, site, "E", "electricity", "cumulative")
    # 2026-10-25 in Berlin runs from 22:00 UTC on the 24th to 23:00 UTC on the 25th: 25 hours
    _buckets(conn, point, datetime(2026, 10, 24, 22, 0, tzinfo=UTC), 100, 1.0)
    daily.refresh_all(conn)
    assert _days(conn, point) == [("2026-10-25", 100.0, pytest.approx(1.0))]


def test_refresh_rewrites_only_the_days_a_range_touches(conn: psycopg.Connection) -> None:
    point = make_point(conn, make_site(conn), "E", "electricity", "cumulative")
    midnight = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # the 2nd, 00:00 in Shanghai
    _buckets(conn, point, midnight - timedelta(days=1), 3 * 96, 1.0)  # the 1st, 2nd and 3rd
    daily.refresh_all(conn)
    assert [q for _, q, _ in _days(conn, point)] == [96.0, 96.0, 96.0]

    # later figures for the last hour of the 1st and the first of the 2nd ...
    conn.execute(
        "UPDATE consumption_15min SET quantity = 2.0 WHERE point_id = %s"
        " AND bucket >= %s AND bucket < %s",
        (point, midnight - timedelta(hours=1), midnight + timedelta(hours=1)),
    )
    # ... and none left on the 3rd, with a refresh that covers only the 1st and 2nd
    conn.execute(
        "DELETE FROM consumption_15min WHERE point_id = %s AND bucket >= %s",
        (point, midnight + timedelta(days=1)),
    )
    lo, hi = midnight - timedelta(hours=1), midnight + timedelta(hours=1)
    daily.refresh(conn, [point], [_ms(lo)], [_ms(hi)])
    assert [(d, q) for d, q, _ in _days(conn, point)] == [
        ("2026-11-01", 100.0),
        ("2026-11-02", 100.0),
        ("2026-11-03", 96.0),  # not touched: still as before
    ]
    # a range that ends at a local midnight does not touch the day after it
    conn.execute("UPDATE consumption_15min SET quantity = 3.0 WHERE point_id = %s", (point,))
    daily.refresh(conn, [point], [_ms(midnight - timedelta(days=1))], [_ms(midnight)])
    assert [q for _, q, _ in _days(conn, point)] == [288.0, 100.0, 96.0]
    # the 3rd has no buckets left: its row goes
    third = midnight + timedelta(days=1)
    daily.refresh(conn, [point], [_ms(third)], [_ms(third + timedelta(days=1))])
    assert [d for d, _, _ in _days(conn, point)] == ["2026-11-01", "2026-11-02"]


def test_a_range_of_several_days_rewrites_each_of_them(conn: psycopg.Connection) -> None:
    point = make_point(conn, make_site(conn), "E", "electricity", "cumulative")
    midnight = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # the 2nd, 00:00 in Shanghai
    _buckets(conn, point, midnight, 4 * 96, 1.0)  # the 2nd to the 5th
    daily.refresh_all(conn)
    conn.execute("UPDATE consumption_15min SET quantity = 2.0 WHERE point_id = %s", (point,))
    # from 23:00 on the 2nd to 01:00 on the 5th: the 2nd, 3rd, 4th and 5th, in 12-hour pieces
    lo = midnight + timedelta(hours=23)
    daily.refresh(conn, [point], [_ms(lo)], [_ms(lo + timedelta(hours=50))])
    assert [(d, q) for d, q, _ in _days(conn, point)] == [
        ("2026-11-02", 192.0),
        ("2026-11-03", 192.0),
        ("2026-11-04", 192.0),
        ("2026-11-05", 192.0),
    ]
