"""The rollup rewriting buckets in compressed chunks of consumption_15min on a real
TimescaleDB: only the segments it rewrites are decompressed, and a range that cannot be
written does not hold back the others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import pytest

from energywatch.storage import daily
from services.rollup.worker import Options, drain, run_pass
from tests.integration.rollup.support import make_point, make_site, minutes, write_readings
from tests.integration.timescale.support import (
    compress_rollups,
    daily_quantity,
    local_midnight,
    quarter_hours,
    utc_now,
)

OPTIONS = Options(batch_points=50)
HOUR = timedelta(hours=1)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        yield c


@dataclass(frozen=True)
class Scene:
    points: list[int]  # rolled up long ago, now in a compressed chunk
    late: datetime  # the hour of points[0] whose readings arrive late
    live: int  # a point with readings of today
    live_start: datetime

    def live_hour(self, conn: psycopg.Connection) -> float:
        return sum(quarter_hours(conn, self.live, self.live_start, self.live_start + HOUR))


def _scene(conn: psycopg.Connection, n_points: int) -> Scene:
    """One kWh in every quarter-hour of 30 days for each point, rolled up long ago and now
    compressed; then 60 kWh of one point's hour arrive late, with a live point's readings."""
    site = make_site(conn)
    points = [
        make_point(conn, site, f"E{i:02}", "electricity", "cumulative") for i in range(n_points)
    ]
    first = local_midnight(utc_now() - timedelta(days=200))
    conn.execute(
        """
        INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness)
        SELECT p, b, 1, 0.1, 0.2, 1
          FROM unnest(%s::int4[]) AS p,
               generate_series(%s::timestamptz, %s::timestamptz - INTERVAL '15 minutes',
                               INTERVAL '15 minutes') AS b
        """,
        (points, first, first + timedelta(days=30)),
    )
    daily.refresh_all(conn)
    conn.commit()
    assert compress_rollups(conn) >= 1
    late = first + timedelta(days=10)
    write_readings(conn, points[0], [(late + minutes(m), 100.0 + m, 0) for m in range(61)])
    live = make_point(conn, site, "LIVE", "electricity", "cumulative")
    live_start = utc_now().replace(minute=0, second=0, microsecond=0) - 3 * HOUR
    write_readings(conn, live, [(live_start + minutes(m), 5.0 + 2 * m, 0) for m in range(31)])
    return Scene(points, late, live, live_start)


def test_late_data_in_a_compressed_chunk_decompresses_only_its_segment(
    conn: psycopg.Connection,
) -> None:
    # 40 points x 30 days x 96 = 115,200 rows: more than TimescaleDB decompresses in one
    # statement by default (100,000), as a whole chunk of a real region would be
    scene = _scene(conn, 40)
    points, late = scene.points, scene.late
    # one segment (point) of the chunk in that time range is one batch of at most 1,000
    # rows: allow two, never the 40 batches of that time range, nor the 115,200 of the chunk
    conn.execute("SET timescaledb.max_tuples_decompressed_per_dml_transaction = 2000")

    drain(conn, OPTIONS)

    assert conn.execute("SELECT count(*) FROM dirty_buckets").fetchone() == (0,)
    hour = quarter_hours(conn, points[0], late - minutes(15), late + timedelta(hours=1, minutes=15))
    # the reading at 00:00 closes the quarter-hour before it (nothing measured: 0); the one at
    # 01:00 closes 00:45-01:00, so 01:00-01:15 keeps no row
    assert hour == pytest.approx([0.0, 15.0, 15.0, 15.0, 15.0])
    # 91 untouched quarter-hours of one kWh, the late hour's 60 kWh and an empty 01:00
    assert daily_quantity(conn, points[0], late) == pytest.approx(151.0)
    assert daily_quantity(conn, points[1], late) == pytest.approx(96.0)
    assert scene.live_hour(conn) == pytest.approx(60.0)


def test_a_range_that_cannot_be_written_does_not_hold_back_the_others(
    conn: psycopg.Connection,
) -> None:
    scene = _scene(conn, 2)
    points, late = scene.points, scene.late
    # a segment holds up to 1,000 rows: rewriting any of them now exceeds the limit
    conn.execute("SET timescaledb.max_tuples_decompressed_per_dml_transaction = 100")

    report = run_pass(conn, OPTIONS)

    assert report.failed == 1 and report.spans == 2
    assert scene.live_hour(conn) == pytest.approx(60.0)
    waiting = conn.execute("SELECT DISTINCT point_id FROM dirty_buckets").fetchall()
    conn.commit()
    assert waiting == [(points[0],)]
    assert daily_quantity(conn, points[0], late) == pytest.approx(96.0)  # not yet rewritten
    assert not run_pass(conn, OPTIONS).progressed  # still failing: drain would stop here

    conn.execute("RESET timescaledb.max_tuples_decompressed_per_dml_transaction")
    drain(conn, OPTIONS)
    assert conn.execute("SELECT count(*) FROM dirty_buckets").fetchone() == (0,)
    assert daily_quantity(conn, points[0], late) == pytest.approx(151.0)
