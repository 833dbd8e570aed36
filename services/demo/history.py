"""A day of history for a fresh demo, so that dashboards, daily totals and the data-quality
rules have something to judge from the first minute.

The history comes from the same simulator as the live edge agents (edge.sim), at one reading
per minute as real meters report. It is written straight to the database, bypassing MQTT:
the live pipeline is what the demo shows; this only stands in for the days before it started.
The 15-minute buckets it touches are marked dirty, as ingest marks them, so the rollup
computes them like any late data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import psycopg

from edge.sim import SimPoint, simulate
from energywatch.storage.engine import libpq_url
from services.demo.region import Region

LOCAL = timezone(timedelta(hours=8))


def has_readings(url: str) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM readings)").fetchone() == (True,)


def backfill(
    url: str, region: Region, hours: float, step: timedelta, seed: int, end: datetime | None = None
) -> int:
    """Write `hours` of simulated readings ending at `end` (default now); return how many."""
    end = (end or datetime.now(UTC)).replace(second=0, microsecond=0)
    start = end - timedelta(hours=hours)
    written = 0
    with psycopg.connect(libpq_url(url)) as conn:
        ids = {
            (site, point): pid
            for site, point, pid in conn.execute(
                "SELECT s.code, p.code, p.id FROM points p JOIN sites s ON s.id = p.site_id"
            )
        }
        conn.execute(
            "CREATE TEMP TABLE demo_history (point_id int, ts timestamptz, value float8, "
            "quality int2) ON COMMIT DROP"
        )
        with conn.cursor().copy(
            "COPY demo_history (point_id, ts, value, quality) FROM STDIN"
        ) as copy:
            for device in region.devices():
                points = [SimPoint(p.code, p.profile, p.scale, p.rollover) for p in device.points]
                for r in simulate(
                    points, start.astimezone(LOCAL), end.astimezone(LOCAL), step, seed
                ):
                    ts = datetime.fromtimestamp(r.ts_ms / 1000, UTC)
                    copy.write_row((ids[(device.site, r.point)], ts, r.value, r.quality))
                    written += 1
        conn.execute(
            "INSERT INTO readings (point_id, ts, value, quality) "
            "SELECT point_id, ts, value, quality FROM demo_history ON CONFLICT DO NOTHING"
        )
        conn.execute(
            "INSERT INTO dirty_buckets (point_id, bucket) "
            "SELECT DISTINCT point_id, date_bin('15 minutes', ts, '2000-01-01 00:00+00') "
            "FROM demo_history ON CONFLICT DO NOTHING"
        )
    return written
