"""Times relative to the real clock (the server's policies use its own `now()`), and policies
run by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

SITE_ZONE = ZoneInfo("Asia/Shanghai")  # tests.integration.rollup.support.make_site


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_midnight(t: datetime) -> datetime:
    """The start of the site's local day holding `t`, in UTC."""
    local = t.astimezone(SITE_ZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def run_policy(conn: psycopg.Connection, proc: str, relation: str) -> None:
    """Run a policy's job now, as its schedule would (in its own transactions)."""
    row = conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs"
        " WHERE proc_name = %s AND hypertable_name = %s",
        (proc, relation),
    ).fetchone()
    assert row is not None, (proc, relation)
    conn.commit()
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute("CALL run_job(%s)", (row[0],))
    finally:
        conn.autocommit = autocommit


def compress_rollups(conn: psycopg.Connection) -> int:
    """Run consumption_15min's compression policy; the chunks compressed afterwards."""
    run_policy(conn, "policy_compression", "consumption_15min")
    row = conn.execute(
        "SELECT count(*) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'consumption_15min' AND is_compressed"
    ).fetchone()
    conn.commit()
    return int(row[0]) if row else 0


def quarter_hours(conn: psycopg.Connection, point: int, lo: datetime, hi: datetime) -> list[float]:
    rows = conn.execute(
        "SELECT quantity FROM consumption_15min WHERE point_id = %s AND bucket >= %s"
        " AND bucket < %s ORDER BY bucket",
        (point, lo, hi),
    ).fetchall()
    conn.commit()
    return [r[0] for r in rows]


def daily_quantity(conn: psycopg.Connection, point: int, t: datetime) -> float | None:
    row = conn.execute(
        "SELECT quantity FROM consumption_daily WHERE point_id = %s AND day = %s",
        (point, t.astimezone(SITE_ZONE).date()),
    ).fetchone()
    conn.commit()
    return None if row is None else float(row[0])


def hourly_quantity(conn: psycopg.Connection, point: int, t: datetime) -> float | None:
    row = conn.execute(
        "SELECT quantity FROM consumption_hourly WHERE point_id = %s AND bucket = %s",
        (point, t),
    ).fetchone()
    conn.commit()
    return None if row is None else float(row[0])


def days(n: float) -> timedelta:
    return timedelta(days=n)
