"""Buckets older than the raw-data horizon are never recomputed from what retention left."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from services.rollup.worker import DAY_MS, Options, drain, run_pass
from tests.integration.rollup.support import (
    START,
    make_point,
    make_site,
    minutes,
    scalar,
    write_readings,
)

RETAIN_DAYS = 30


def _options(now: float) -> Options:
    return Options(retain_ms=RETAIN_DAYS * DAY_MS, clock=lambda: now)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        yield c


def _day_total(conn: psycopg.Connection, point: int) -> float:
    return float(
        scalar(
            conn,
            "SELECT quantity FROM consumption_daily WHERE point_id = %s AND day = '2026-11-20'",
            (point,),
        )
    )


def test_a_late_reading_for_a_day_whose_readings_were_dropped_changes_nothing(
    conn: psycopg.Connection,
) -> None:
    site = make_site(conn)
    old = make_point(conn, site, "E01", "electricity", "cumulative")
    live = make_point(conn, site, "E02", "electricity", "cumulative")
    # 2026-11-20 (local): 124 kWh over the day
    write_readings(
        conn, old, [(START + minutes(15 * k), 1000.0 + k * 124 / 96, 0) for k in range(97)]
    )
    drain(conn, _options(START.timestamp() + 2 * 86_400))
    assert _day_total(conn, old) == pytest.approx(124.0)
    buckets = conn.execute("SELECT * FROM consumption_15min ORDER BY bucket").fetchall()

    # 40 days later retention has dropped that day's readings (a timer's DELETE on plain
    # PostgreSQL, a dropped chunk on TimescaleDB); then one reading of that day arrives late
    now = START + timedelta(days=40)
    conn.execute("DELETE FROM readings WHERE ts < %s", (now - timedelta(days=RETAIN_DAYS),))
    write_readings(conn, old, [(START + minutes(300), 1020.0, 0)])
    write_readings(conn, live, [(now - minutes(m), 50.0 - m, 0) for m in range(30, 0, -1)])

    report = run_pass(conn, _options(now.timestamp()))

    assert _day_total(conn, old) == pytest.approx(124.0)
    assert report.frozen == 1
    assert conn.execute(
        "SELECT * FROM consumption_15min WHERE point_id = %s ORDER BY bucket", (old,)
    ).fetchall() == [b for b in buckets if b[0] == old]
    assert scalar(conn, "SELECT count(*) FROM dirty_buckets") == 0
    # the live point of the same pass was rolled up
    assert scalar(
        conn, "SELECT sum(quantity) FROM consumption_15min WHERE point_id = %s", (live,)
    ) == pytest.approx(29.0)
