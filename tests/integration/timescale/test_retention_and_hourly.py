"""Retention and the hourly continuous aggregate on a real TimescaleDB, with the rollup:
late data after retention, and late data older than the aggregate's refresh window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from energywatch.storage.migrate import upgrade
from services.rollup.worker import DAY_MS, Options, drain, run_pass
from tests.integration.rollup.support import make_point, make_site, minutes, write_readings
from tests.integration.timescale.support import (
    daily_quantity,
    hourly_quantity,
    local_midnight,
    run_policy,
    utc_now,
)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        yield c


def test_late_reading_after_retention_dropped_its_day_leaves_the_day_alone(
    db_url: str, conn: psycopg.Connection
) -> None:
    site = make_site(conn)
    point = make_point(conn, site, "E01", "electricity", "cumulative")
    day = local_midnight(utc_now() - timedelta(days=40))
    write_readings(
        conn, point, [(day + minutes(15 * k), 1000.0 + k * 124 / 96, 0) for k in range(97)]
    )
    drain(conn, Options())
    assert daily_quantity(conn, point, day) == pytest.approx(124.0)

    upgrade(db_url, use_timescaledb=True, retain_days=30)  # retention added to a database
    run_policy(conn, "policy_retention", "readings")
    left = conn.execute("SELECT count(*) FROM readings WHERE ts < %s", (day + timedelta(days=1),))
    assert left.fetchone() == (0,)
    conn.commit()
    write_readings(conn, point, [(day + minutes(300), 1020.0, 0)])

    report = run_pass(conn, Options(retain_ms=30 * DAY_MS))

    assert daily_quantity(conn, point, day) == pytest.approx(124.0)
    assert report.frozen == 1
    assert conn.execute("SELECT count(*) FROM dirty_buckets").fetchone() == (0,)


def test_late_data_older_than_the_refresh_window_reaches_the_hourly_aggregate(
    db_url: str, conn: psycopg.Connection
) -> None:
    upgrade(db_url, use_timescaledb=True, hourly_refresh_days=30)
    site = make_site(conn)
    point = make_point(conn, site, "E01", "electricity", "cumulative")
    now = utc_now().replace(minute=0, second=0, microsecond=0)
    write_readings(
        conn, point, [(now - timedelta(hours=3) + minutes(m), float(m), 0) for m in range(61)]
    )
    drain(conn, Options())
    # the policy materialises the last 30 days: older hours now come only from what was
    # materialised, never from consumption_15min itself
    run_policy(conn, "policy_refresh_continuous_aggregate", "consumption_hourly")
    assert hourly_quantity(conn, point, now - timedelta(hours=3)) == pytest.approx(60.0)

    old = now - timedelta(days=60)
    write_readings(conn, point, [(old + minutes(m), 500.0 + 2 * m, 0) for m in range(61)])
    report = run_pass(conn, Options())

    assert report.hourly_refreshed == 1 and report.hourly_failed == 0
    assert hourly_quantity(conn, point, old) == pytest.approx(120.0)
