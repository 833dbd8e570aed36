"""consumption_daily against a real PostgreSQL: local days, daylight saving, partial refresh."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
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


def _recomputed(conn: psycopg.Connection, point: int) -> list[tuple[str, float, float]]:
    """The point's days as a fresh sum of their buckets gives them (then put back)."""
    kept = _days(conn, point)
    with conn.transaction(force_rollback=True):
        daily.refresh_all(conn)
        fresh = _days(conn, point)
    assert _days(conn, point) == kept
    return fresh


def _same(kept: list[tuple[str, float, float]], fresh: list[tuple[str, float, float]]) -> None:
    assert [d for d, _, _ in kept] == [d for d, _, _ in fresh]
    for (_, q, c), (_, fq, fc) in zip(kept, fresh, strict=True):
        assert q == pytest.approx(fq, rel=1e-12) and c == pytest.approx(fc, rel=1e-12)


@dataclass(frozen=True)
class _New:
    point_id: np.ndarray
    bucket: np.ndarray
    quantity: np.ndarray
    tce: np.ndarray
    tco2: np.ndarray
    completeness: np.ndarray


def _replace(
    conn: psycopg.Connection,
    point: int,
    lo: datetime,
    hi: datetime,
    qty: float,
    completeness: float = 1.0,
    keep: int | None = None,
) -> None:
    """Replace the point's buckets in [lo, hi) by `keep` (all if None) buckets of `qty`, as
    the rollup does: inside `daily.kept`."""
    n = (hi - lo) // QUARTER if keep is None else keep
    starts = [lo + k * QUARTER for k in range(n)]
    new = _New(
        np.full(n, point, dtype=np.int64),
        np.array([_ms(t) for t in starts], dtype=np.int64),
        np.full(n, qty),
        np.full(n, qty / 10),
        np.full(n, qty / 5),
        np.full(n, completeness),
    )
    emptied = [0] if n < (hi - lo) // QUARTER else []
    with daily.kept(conn, [point], [_ms(lo)], [_ms(hi)], new, emptied=emptied):
        conn.execute(
            "DELETE FROM consumption_15min WHERE point_id = %s AND bucket >= %s AND bucket < %s",
            (point, lo, hi),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO consumption_15min"
                " (point_id, bucket, quantity, tce, tco2, completeness)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(point, t, qty, qty / 10, qty / 5, completeness) for t in starts],
            )


def test_replaced_buckets_change_only_their_days(conn: psycopg.Connection) -> None:
    point = make_point(conn, make_site(conn), "E", "electricity", "cumulative")
    midnight = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # the 2nd, 00:00 in Shanghai
    _buckets(conn, point, midnight - timedelta(days=1), 3 * 96, 1.0)  # the 1st, 2nd and 3rd
    daily.refresh_all(conn)
    assert [q for _, q, _ in _days(conn, point)] == [96.0, 96.0, 96.0]

    # later figures for the last hour of the 1st and the first of the 2nd ...
    _replace(conn, point, midnight - timedelta(hours=1), midnight + timedelta(hours=1), 2.0)
    assert [(d, q) for d, q, _ in _days(conn, point)] == [
        ("2026-11-01", 100.0),
        ("2026-11-02", 100.0),
        ("2026-11-03", 96.0),  # not touched: as before
    ]
    _same(_days(conn, point), _recomputed(conn, point))
    # a day that loses some buckets keeps a row with the rest; one that loses all goes
    third = midnight + timedelta(days=1)
    _replace(conn, point, third - timedelta(hours=1), third + timedelta(days=1), 1.0, keep=0)
    assert [(d, q) for d, q, _ in _days(conn, point)] == [
        ("2026-11-01", 100.0),
        ("2026-11-02", 100.0 - 4),  # its last hour went
    ]
    _same(_days(conn, point), _recomputed(conn, point))


def test_a_range_of_several_days_keeps_each_of_them(conn: psycopg.Connection) -> None:
    point = make_point(conn, make_site(conn), "E", "electricity", "cumulative")
    midnight = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # the 2nd, 00:00 in Shanghai
    _buckets(conn, point, midnight, 4 * 96, 1.0)  # the 2nd to the 5th
    daily.refresh_all(conn)
    # from 23:00 on the 2nd to 01:00 on the 5th
    lo = midnight + timedelta(hours=23)
    _replace(conn, point, lo, lo + timedelta(hours=50), 2.0, completeness=0.5)
    assert [(d, q) for d, q, _ in _days(conn, point)] == [
        ("2026-11-02", 96.0 + 4),
        ("2026-11-03", 192.0),
        ("2026-11-04", 192.0),
        ("2026-11-05", 96.0 + 4),
    ]
    _same(_days(conn, point), _recomputed(conn, point))
