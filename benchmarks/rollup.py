"""Rollup throughput: stored readings to consumption_15min and the daily totals, against the
same readings grouped by one SQL statement.

    .venv/bin/python benchmarks/rollup.py --quick   # 600 points, one day of minute readings
    .venv/bin/python benchmarks/rollup.py           # 3,000 points, two days

Set-up, in a fresh database migrated to head: 200 enterprises (1,000 without --quick) of three
points each (an electricity register, coal by interval, product output by interval), one
reading per point per minute loaded by binary COPY; 1% of the readings, chosen at random, are
held back for the late-data phase.

Figures, each the median of --repeat runs (3):
- full: every bucket marked dirty (as a rebuild does), then rollup passes with the service's
  default options until none is left; readings read and buckets written per second;
- without daily totals: the same passes with the daily totals left out, for their share;
- late: the held-back readings stored and their buckets marked as ingest marks them, then the
  passes that recompute those buckets (each widened to the neighbouring readings);
- baseline: one SQL statement grouping the same readings into 15-minute buckets (highest minus
  lowest value of a register, sum of an interval meter) into a table: what PostgreSQL alone
  needs to read and group them, without counter rules, spreading across bucket edges,
  conversion to tce and CO2, or daily totals. ratio = full seconds / baseline seconds.
- peak RSS of this process, in which the rollup runs, from the end of the load.

The rollup and PostgreSQL share the machine's two cores. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.databases import create_database, drop_database  # noqa: E402
from benchmarks.support.pgcopy import copy_binary, reading_rows  # noqa: E402
from energywatch.storage import daily  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from services.rollup import store  # noqa: E402
from services.rollup.worker import Options, drain  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BUCKET = "date_bin(INTERVAL '15 minutes', {ts}, TIMESTAMPTZ '2000-01-01 00:00+00')"
# (code, measure, unit, kind, role, product) of every enterprise's points
POINTS = [
    ("E01", "electricity", "kWh", "cumulative", "consumption", None),
    ("C01", "raw_coal", "t", "interval", "consumption", None),
    ("P01", "product", "t", "interval", "output", "coke_top_charged"),
]
LATE_SHARE = 0.01  # of the readings, held back for the late-data phase
SQL_BASELINE = f"""
    INSERT INTO bench_grouped (point_id, bucket, quantity)
    SELECT r.point_id, {BUCKET.format(ts="r.ts")},
           CASE p.kind WHEN 'cumulative' THEN max(r.value) - min(r.value) ELSE sum(r.value) END
      FROM readings r JOIN points p ON p.id = r.point_id
     GROUP BY r.point_id, p.kind, 2
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    """Linux: start VmHWM again from the current RSS (clear_refs value 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def load(conn: psycopg.Connection, enterprises: int, days: int) -> dict[str, Any]:
    """The registry and the readings (`conn` in autocommit); the held-back rows are returned,
    not stored."""
    conn.execute(
        "INSERT INTO sites (code, name, kind, division_code, industry, factor_set, grid_region)"
        " SELECT 'R-' || lpad(i::text, 4, '0'), 'Enterprise ' || i, 'enterprise', '140101',"
        " 'coke', (SELECT min(code) FROM factor_sets), 'north'"
        " FROM generate_series(1, %s) AS i",
        (enterprises,),
    )
    conn.execute("INSERT INTO devices (site_id, code) SELECT id, 'GW1' FROM sites")
    for code, measure, unit, kind, role, product in POINTS:
        conn.execute(
            "INSERT INTO points (site_id, device_id, code, measure, unit, kind, role, product)"
            " SELECT s.id, d.id, %s, %s, %s, %s, %s, %s FROM sites s"
            " JOIN devices d ON d.site_id = s.id",
            (code, measure, unit, kind, role, product),
        )
    points = conn.execute("SELECT id, kind FROM points ORDER BY id").fetchall()
    minutes = days * 1440
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=days + 1
    )
    rows = reading_rows([p[0] for p in points], start, minutes, [p[1] for p in points])
    late = np.random.default_rng(11).random(len(rows)) < LATE_SHARE
    copy_binary(conn, "readings", "point_id, ts, value, quality", rows[~late])
    conn.execute("VACUUM (ANALYZE) readings")  # settled before the timed passes
    return {"points": len(points), "readings": len(rows), "late_rows": rows[late]}


@contextmanager
def without_daily_totals() -> Iterator[None]:
    """The rollup's passes with the daily totals left out (for their share of a pass)."""
    kept = daily.kept

    @contextmanager
    def nothing(*args: Any, **kwargs: Any) -> Iterator[None]:
        yield

    daily.kept = nothing
    try:
        yield
    finally:
        daily.kept = kept


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def full_pass(conn: psycopg.Connection, options: Options) -> float:
    """Clear what the rollup wrote, mark every bucket dirty, and time the passes."""
    with conn.transaction():
        conn.execute("DELETE FROM consumption_15min")
        conn.execute("DELETE FROM consumption_daily")
        store.mark_all_dirty(conn)
    conn.execute("CHECKPOINT")  # no checkpoint of the deletes inside the timed passes
    return timed(lambda: drain(conn, options))


def _stage(conn: psycopg.Connection, late_rows: np.ndarray) -> None:
    """The held-back rows into temporary table `late` (emptied at commit)."""
    conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS late (LIKE readings) ON COMMIT DELETE ROWS")
    copy_binary(conn, "late", "point_id, ts, value, quality", late_rows)


def store_late(conn: psycopg.Connection, late_rows: np.ndarray) -> int:
    """Store the held-back readings and mark their buckets, as ingest does; dirty buckets."""
    with conn.transaction():
        _stage(conn, late_rows)
        conn.execute("INSERT INTO readings SELECT * FROM late")
        marked = conn.execute(
            "INSERT INTO dirty_buckets (point_id, bucket)"
            f" SELECT DISTINCT point_id, {BUCKET.format(ts='ts')} FROM late"
            " ON CONFLICT (point_id, bucket) DO NOTHING"
        ).rowcount
    return marked


def remove_late(conn: psycopg.Connection, late_rows: np.ndarray) -> None:
    with conn.transaction():
        _stage(conn, late_rows)
        conn.execute(
            "DELETE FROM readings r USING late l WHERE r.point_id = l.point_id AND r.ts = l.ts"
        )


def sql_baseline(conn: psycopg.Connection) -> float:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_grouped"
        " (point_id int4, bucket timestamptz, quantity float8, PRIMARY KEY (point_id, bucket))"
    )
    conn.execute("TRUNCATE bench_grouped")
    return timed(lambda: conn.execute(SQL_BASELINE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    enterprises, days = (200, 1) if args.quick else (1000, 2)
    options = Options()
    url = create_database(PG_URL, f"ew_bench_rollup_{uuid.uuid4().hex[:8]}")
    runs: dict[str, list[float]] = {"full": [], "without_daily": [], "late": [], "sql": []}
    try:
        upgrade(url, use_timescaledb=False)
        with psycopg.connect(url, autocommit=True) as conn:
            log(
                f"loading {enterprises * len(POINTS)} points x {days} day(s) of minute readings ..."
            )
            loaded = load(conn, enterprises, days)
            late_rows = loaded.pop("late_rows")
            reset_peak_rss()  # the generated readings are gone; measure the rollup from here
            stored = loaded["readings"] - len(late_rows)
            buckets = 0
            late_buckets = 0
            for run in range(args.repeat):
                if run:
                    remove_late(conn, late_rows)
                runs["full"].append(full_pass(conn, options))
                buckets = count(conn, "consumption_15min")
                late_buckets = store_late(conn, late_rows)
                runs["late"].append(timed(lambda: drain(conn, options)))
                runs["sql"].append(sql_baseline(conn))
                with without_daily_totals():
                    runs["without_daily"].append(full_pass(conn, options))
                log(
                    f"run {run + 1}: full {runs['full'][-1]:.2f} s, late {runs['late'][-1]:.2f} s,"
                    f" without daily totals {runs['without_daily'][-1]:.2f} s,"
                    f" SQL baseline {runs['sql'][-1]:.2f} s"
                )
    finally:
        drop_database(PG_URL, url)
    med = {name: statistics.median(values) for name, values in runs.items()}
    summary = {
        "benchmark": "rollup",
        "quick": args.quick,
        "settings": {
            "enterprises": enterprises,
            "points_per_enterprise": len(POINTS),
            "days_of_minute_readings": days,
            "repeat": args.repeat,
            "late_share": LATE_SHARE,
            "options": "services.rollup.worker.Options() defaults",
            "batch_points": options.batch_points,
            "max_batch_points": options.max_batch_points,
            "pass_target_s": options.pass_target_s,
            "lookback_ms": options.lookback_ms,
            "run_gap_ms": options.run_gap_ms,
            "group_ms": options.group_ms,
            "max_span_ms": options.max_span_ms,
            "timescaledb": False,
        },
        "points": loaded["points"],
        "readings": stored,
        "buckets": buckets,
        "full_s": round(med["full"], 3),
        "full_readings_per_s": round(stored / med["full"]),
        "full_buckets_per_s": round(buckets / med["full"]),
        "without_daily_totals_s": round(med["without_daily"], 3),
        "daily_totals_share": round(1 - med["without_daily"] / med["full"], 3),
        "late_readings": len(late_rows),
        "late_buckets_marked": late_buckets,
        "late_s": round(med["late"], 3),
        "sql_baseline_s": round(med["sql"], 3),
        "ratio_full_to_sql_baseline": round(med["full"] / med["sql"], 2),
        "runs_s": {name: [round(v, 3) for v in values] for name, values in runs.items()},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
