"""Rollup under a province's live load: how old dirty marks get, and PostgreSQL's time per pass.

    .venv/bin/python benchmarks/rollup_live.py              # 200,000 points, 2 h history
    .venv/bin/python benchmarks/rollup_live.py --quick      # 50,000 points
    .venv/bin/python benchmarks/rollup_live.py --fixed      # the pass as it was (see below)

Set-up, in a fresh database migrated to head: enterprises of 100 points each, the province's
mix (benchmarks/province.py): 97 electricity registers, 2 interval meters (coal, product), 1
instantaneous power point; `--history` minutes (120) of readings at one a minute before the
start, loaded by binary COPY and vacuumed, no rollups yet.

The load: a writer thread stores every point's reading once a minute, spread evenly over the
minute (one batch a second: 1/60 of the points, 3,333 readings at 200,000 points), each batch
in one transaction with its dirty-bucket log row, as ingest stores them
(energywatch/storage/dirty_marks.py). The rollup runs in this process as `energywatch rollup`
runs it: `run_pass` with the service's default settings (RollupSettings), back to back while a
pass clears marks, else after `interval_s`. With `--fixed`, passes claim `batch_points` (500)
points each and load every range with the lookback: the pass as it was before the claim was
sized and the counter's state carried (the claim statement is the new one in both).

Figures, over the window after the warm-up (`--warmup`, 90 s, not counted: the first passes
recompute every point once from its history):
- oldest mark age: now() minus the oldest marked_at of dirty_buckets and dirty_bucket_log,
  sampled every 2 s (what benchmarks/province.py samples); max, p95, and its value at the end;
- per pass: seconds, points claimed, CPU seconds of the rollup's PostgreSQL backend (from
  /proc/PID/stat: PostgreSQL runs on this machine), as medians; passes counted;
- PostgreSQL cores: the rollup backend's CPU over the window divided by its length, and the
  writer backend's for scale; the rollup's own cores (CPU time of the thread running the
  passes); readings read by the rollup per second against readings stored.

PostgreSQL, this process and the writer share the machine's two cores, with whatever else runs
there. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.databases import create_database, drop_database  # noqa: E402
from benchmarks.support.pgcopy import PG_EPOCH, READING, copy_binary, reading_rows  # noqa: E402
from benchmarks.support.procstat import TICKS_PER_S, cpu_ticks  # noqa: E402
from energywatch.settings import RollupSettings  # noqa: E402
from energywatch.storage import dirty_marks  # noqa: E402
from energywatch.storage.binary_copy import wire_rows  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from services.rollup.compute import CounterRules  # noqa: E402
from services.rollup.worker import Carry, Options, PassReport, run_pass  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POINTS_PER_SITE = 100
# (code, measure, unit, kind) and how many of each an enterprise has (benchmarks/province.py)
MIX = [
    ("S", "electricity", "kWh", "cumulative", 97),
    ("C", "washed_coal", "t", "interval", 1),
    ("O", "product", "t", "interval", 1),
    ("PW", "power", "kW", "instantaneous", 1),
]
BUCKET_S = 900
SAMPLE_EVERY_S = 2.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def populate(conn: psycopg.Connection, enterprises: int, history_min: int, start: datetime) -> Any:
    """Registry and history (`conn` in autocommit); (point ids, kinds) in id order."""
    conn.execute(
        "INSERT INTO sites (code, name, kind, division_code, industry, factor_set, grid_region)"
        " SELECT 'L' || lpad(g::text, 5, '0'), 'Enterprise ' || g, 'enterprise', '140101',"
        " 'coke', (SELECT min(code) FROM factor_sets), 'north' FROM generate_series(1, %s) g",
        (enterprises,),
    )
    conn.execute("INSERT INTO devices (site_id, code) SELECT id, 'GW1' FROM sites")
    for prefix, measure, unit, kind, count in MIX:
        conn.execute(
            "INSERT INTO points (site_id, device_id, code, measure, unit, kind, role, product,"
            " created_at) SELECT d.site_id, d.id, %s || k, %s, %s, %s,"
            " CASE WHEN %s = 'product' THEN 'output' ELSE 'consumption' END,"
            " CASE WHEN %s = 'product' THEN 'coke_top_charged' END,"
            " %s::timestamptz - interval '2 days'"
            " FROM devices d CROSS JOIN generate_series(1, %s) k",
            (prefix, measure, unit, kind, measure, measure, start, count),
        )
    rows = conn.execute("SELECT id, kind FROM points ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    kinds = [r[1] for r in rows]
    conn.execute("ALTER TABLE readings DROP CONSTRAINT pk_readings")
    for k in range(0, len(rows), 20_000):  # bounded memory
        part = rows[k : k + 20_000]
        copy_binary(
            conn,
            "readings",
            "point_id, ts, value, quality",
            reading_rows(
                [r[0] for r in part],
                start - timedelta(minutes=history_min),
                history_min,
                [r[1] for r in part],
            ),
        )
    conn.execute("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (point_id, ts)")
    conn.execute("VACUUM (ANALYZE) readings, points")
    conn.execute("CHECKPOINT")
    return ids, kinds


class Writer(threading.Thread):
    """Every point's reading once a minute, 1/60 of the points a second, as ingest stores them."""

    def __init__(
        self, url: str, ids: np.ndarray, kinds: list[str], start: datetime, history_min: int
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.ids = url, ids
        self.start_s = float(int(start.timestamp()))  # set again when the writer starts
        self.history_min = history_min
        self.cumulative = np.array([k == "cumulative" for k in kinds])
        self.stop = threading.Event()
        self.stored = 0
        self.backend_pid = 0

    def batch(self, tick: int) -> tuple[np.ndarray, int]:
        """The readings of second `tick` after the start (1/60 of the points, stamped with that
        second, so a writer running late catches up without repeating a timestamp), and their
        bucket index."""
        n = self.ids.shape[0]
        second = tick % 60
        lo, hi = second * n // 60, (second + 1) * n // 60
        at_s = int(self.start_s) + tick
        rows = wire_rows(READING, hi - lo)
        rows["pid"] = self.ids[lo:hi]
        rows["ts"] = (at_s - int(PG_EPOCH.timestamp())) * 1_000_000
        minutes = self.history_min + tick / 60
        # registers go on rising ~10.5 a minute from where reading_rows' history ended (a small
        # margin: its random steps must not make the first live reading a dip)
        cum = self.cumulative[lo:hi]
        rows["v"] = np.where(cum, 1e5 + 20.0 + 10.5 * minutes, 0.01)
        rows["q"] = 0
        return rows, (at_s - int(PG_EPOCH.timestamp())) // BUCKET_S

    def run(self) -> None:
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            self.backend_pid = int(row[0]) if row else 0
            conn.commit()
            tick = 0
            self.start_s = float(int(time.time()))
            while not self.stop.is_set():
                rows, bucket = self.batch(tick)
                with conn.transaction():
                    copy_binary(conn, "readings", "point_id, ts, value, quality", rows)
                    with conn.cursor() as cur:
                        pids = rows["pid"].astype(np.int64).tolist()
                        dirty_marks.log_batch(cur, pids, [bucket] * len(pids))
                self.stored += rows.shape[0]
                tick += 1
                self.stop.wait(max(0.0, self.start_s + tick - time.time()))


class Sampler(threading.Thread):
    """The oldest dirty mark's age every `SAMPLE_EVERY_S`."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.samples: list[tuple[float, float]] = []

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(SAMPLE_EVERY_S):
                row = conn.execute(
                    "SELECT extract(epoch FROM now() - least("
                    "(SELECT min(marked_at) FROM dirty_buckets),"
                    " (SELECT min(marked_at) FROM dirty_bucket_log)))::float8"
                ).fetchone()
                self.samples.append((time.time(), row[0] if row and row[0] is not None else 0.0))


def options_of(settings: RollupSettings, fixed: bool) -> Options:
    return Options(
        batch_points=settings.batch_points,
        max_batch_points=settings.batch_points if fixed else settings.max_batch_points,
        pass_target_s=settings.pass_target_s,
        lookback_ms=int(settings.lookback_hours * 3_600_000),
        rules=CounterRules(settings.reset_share, settings.wrap_share),
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 points instead of 200,000")
    parser.add_argument("--points", type=int, help="points (a multiple of 100)")
    parser.add_argument("--history", type=int, default=120, help="minutes of history")
    parser.add_argument("--warmup", type=float, default=90.0, help="seconds not counted")
    parser.add_argument("--window", type=float, default=240.0, help="seconds measured")
    parser.add_argument("--fixed", action="store_true", help="fixed batch, always the lookback")
    args = parser.parse_args()
    points = args.points or (50_000 if args.quick else 200_000)
    enterprises = points // POINTS_PER_SITE
    settings = RollupSettings()
    options = options_of(settings, args.fixed)
    start = datetime.now(UTC).replace(microsecond=0)
    url = create_database(PG_URL, f"ew_bench_rollup_live_{uuid.uuid4().hex[:8]}")
    # (end time, report, CPU s of the rollup's backend, CPU s of the thread running the pass)
    passes: list[tuple[float, PassReport, float, float]] = []
    try:
        upgrade(url, use_timescaledb=False)
        with psycopg.connect(url, autocommit=True) as conn:
            log(f"loading {enterprises * POINTS_PER_SITE:,} points, {args.history} min history")
            ids, kinds = populate(conn, enterprises, args.history, start)
        writer, sampler = Writer(url, ids, kinds, start, args.history), Sampler(url)
        carry = None if args.fixed else Carry.of(options)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            backend = int(row[0]) if row else 0
            conn.commit()
            writer.start()
            sampler.start()
            t0 = time.time()
            window_from, window_to = t0 + args.warmup, t0 + args.warmup + args.window
            log(f"live load; measuring from +{args.warmup:.0f} s for {args.window:.0f} s")
            ticks = {"rollup": 0, "writer": 0}
            stored_from = 0
            measuring = False
            while time.time() < window_to:
                if not writer.is_alive() or not sampler.is_alive():
                    raise RuntimeError("the writer or the sampler stopped (its error is above)")
                before = cpu_ticks(backend) or 0
                own_before = time.thread_time()
                report = run_pass(conn, options, carry=carry)
                cpu_s = ((cpu_ticks(backend) or 0) - before) / TICKS_PER_S
                passes.append((time.time(), report, cpu_s, time.thread_time() - own_before))
                if report.points and not measuring:
                    log(
                        f"warm-up pass: {report.points} points, {report.seconds:.2f} s,"
                        f" oldest mark {report.oldest_mark_s or 0:.0f} s"
                    )
                if not measuring and time.time() >= window_from:
                    measuring = True
                    ticks["rollup"] = cpu_ticks(backend) or 0
                    ticks["writer"] = cpu_ticks(writer.backend_pid) or 0
                    stored_from, window_from = writer.stored, time.time()
                if not report.progressed:
                    time.sleep(settings.interval_s)
            window_s = time.time() - window_from
            rollup_cores = ((cpu_ticks(backend) or 0) - ticks["rollup"]) / TICKS_PER_S / window_s
            writer_cores = (
                ((cpu_ticks(writer.backend_pid) or 0) - ticks["writer"]) / TICKS_PER_S / window_s
            )
            stored = writer.stored - stored_from
            writer.stop.set()
            sampler.stop.set()
            writer.join()
            sampler.join()
    finally:
        drop_database(PG_URL, url)
    counted = [(t, r, c) for t, r, c, _ in passes if t >= window_from]
    own_cpu_s = sum(o for t, _, _, o in passes if t >= window_from)
    counted = [(t, r, c) for t, r, c in counted if r.points]
    ages = [a for t, a in sampler.samples if window_from <= t]
    summary = {
        "benchmark": "rollup_live",
        "quick": args.quick,
        "settings": {
            "points": enterprises * POINTS_PER_SITE,
            "mix_per_100": {m: n for _, m, _, _, n in MIX},
            "readings_per_s": round(enterprises * POINTS_PER_SITE / 60),
            "history_min": args.history,
            "warmup_s": args.warmup,
            "window_s": round(window_s, 1),
            "fixed": args.fixed,
            "batch_points": options.batch_points,
            "max_batch_points": options.max_batch_points,
            "pass_target_s": options.pass_target_s,
            "lookback_ms": options.lookback_ms,
            "interval_s": settings.interval_s,
            "timescaledb": False,
        },
        "oldest_mark_age_s": {
            "max": round(max(ages), 1) if ages else None,
            "p95": round(pct(ages, 95), 1),
            "end": round(ages[-1], 1) if ages else None,
            "samples": len(ages),
        },
        "passes": len(counted),
        "pass_s_median": round(median([r.seconds for _, r, _ in counted]), 3),
        "points_per_pass_median": median([r.points for _, r, _ in counted]),
        "claim_limit_max": max((r.claim_limit for _, r, _ in counted), default=0),
        "pg_cpu_s_per_pass_median": round(median([c for _, _, c in counted]), 3),
        "pg_cpu_ms_per_point": round(
            1000 * sum(c for _, _, c in counted) / max(1, sum(r.points for _, r, _ in counted)), 3
        ),
        "rollup_backend_cores": round(rollup_cores, 3),
        "writer_backend_cores": round(writer_cores, 3),
        "rollup_thread_cores": round(own_cpu_s / window_s, 3),
        "readings_stored_per_s": round(stored / window_s),
        "readings_read_per_s": round(sum(r.readings for _, r, _ in counted) / window_s),
        "ranges_with_lookback_share": round(
            sum(r.lookback_spans for _, r, _ in counted)
            / max(1, sum(r.spans for _, r, _ in counted)),
            3,
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
