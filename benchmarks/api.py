"""API latency and memory on a year of minute data, against the same SQL straight through psycopg.

    .venv/bin/python benchmarks/api.py --quick     # under a minute: 2 months of data, fewer runs
    .venv/bin/python benchmarks/api.py             # 12 months, more runs, a month of rollups
                                                   # for every enterprise of the region

Set-up, in a fresh database migrated to head:
- one enterprise, 20 points, one reading per point per minute (12 months; 2 with --quick),
  loaded with binary COPY encoded by NumPy (the primary key is rebuilt after the load), and its
  15-minute rollups for the same span;
- 999 more enterprises in the same region (3 points each: electricity, coal, product output)
  with 15-minute rollups for today and yesterday (--quick) or since the first of last month,
  and an open alert on every tenth one;
- the daily totals that the rollup keeps beside the buckets (`consumption_daily`), filled
  from the buckets after the load;
- the API (`energywatch api`) in its own process, called over HTTP with keep-alive as a
  regulator (admin-free path: every request checks scope).

Figures (median of the per-request times; p95 too):
- live: GET /sites/{site}/live (24 hours of 20 points at 5-minute buckets, latest readings,
  today's totals, open alerts);
- report: GET /reports/sites/{site}/monthly?format=csv (the last full month);
- ranking: GET /regions/{division}/ranking?period=day&limit=1000 (all 1,000 enterprises);
  and, without --quick, the ranking of last month too;
- live_concurrent: the live view with 1, 4 and 16 clients calling back to back (3 s each with
  --quick, 10 s without), requests per second and latency, against the live SQL alone with as
  many connections. The clients run on the same two cores as the API and PostgreSQL.
Each has a baseline: the endpoint's own statements, run by the query functions it calls
(services/api/queries; the live view's four) on a warm SQLAlchemy connection, same parameters;
the ratio api/baseline is the cost of HTTP, auth, scope, validation and serialisation.
API peak RSS is VmHWM of the server process.

The machine has 2 cores shared by the API, PostgreSQL, this client (and other work): figures
are noisy; compare medians over several runs. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.databases import create_database, drop_database  # noqa: E402
from benchmarks.support.pgcopy import (  # noqa: E402
    PG_EPOCH,
    copy_binary,
    reading_rows,
)
from energywatch.storage import daily  # noqa: E402
from energywatch.storage.binary_copy import wire_dtype, wire_rows  # noqa: E402
from energywatch.storage.engine import make_engine  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from services.api.clock import (  # noqa: E402  # noqa: E402
    day_range,
    local_midnight,
    local_today,
    month_range,
    next_month,
    now_utc,
)
from services.api.principal import Principal  # noqa: E402
from services.api.queries.alerts import open_alerts_of_site  # noqa: E402
from services.api.queries.consumption import totals_by_measure  # noqa: E402
from services.api.queries.reports import region_sites, site_month_by_day  # noqa: E402
from services.api.queries.timeseries import live_series  # noqa: E402
from services.api.routers.live import points_with_latest  # noqa: E402
from services.api.routers.regions import REGION_TZ  # noqa: E402
from services.demo.broker import free_port  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TZ = "Asia/Shanghai"
SITE = "BENCH-000"
DIVISION = "1401"
PASSWORD = "benchmark password"

# (code, measure, unit, kind, role, product) for the 20 points of the measured enterprise
POINTS = (
    [(f"E{i:02d}", "electricity", "kWh", "cumulative", "consumption", None) for i in range(10)]
    + [(f"W{i:02d}", "power", "kW", "instantaneous", "power", None) for i in range(5)]
    + [(f"C{i:02d}", "raw_coal", "t", "interval", "consumption", None) for i in range(3)]
    + [(f"P{i:02d}", "product", "t", "interval", "output", "coke_top_charged") for i in range(2)]
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- loading --------------------------------------------------------------------------------


ROLLUP = wire_dtype(
    [("pid", ">i4"), ("ts", ">i8"), ("qty", ">f8"), ("tce", ">f8"), ("co2", ">f8"), ("c", ">f8")]
)


def rollup_rows(
    point_ids: list[int], roles: list[str], measures: list[str], start: datetime, buckets: int
) -> np.ndarray:
    rows = wire_rows(ROLLUP, len(point_ids) * buckets)
    t0 = int((start - PG_EPOCH).total_seconds() * 1_000_000)
    ts = t0 + 900_000_000 * np.arange(buckets, dtype=np.int64)
    rng = np.random.default_rng(11)
    for k, pid in enumerate(point_ids):
        part = rows[k * buckets : (k + 1) * buckets]
        part["pid"] = pid
        part["ts"] = ts
        noise = rng.random(buckets)
        if roles[k] == "output":
            part["qty"], part["tce"], part["co2"] = 10.0 + noise, 0.0, 0.0
        elif measures[k] == "electricity":
            qty = 150.0 + 10.0 * noise
            part["qty"], part["tce"], part["co2"] = qty, qty * 0.0001229, qty * 0.0005703
        else:
            qty = 0.15 + 0.01 * noise
            part["qty"], part["tce"], part["co2"] = qty, qty * 0.7143, qty * 1.9
        part["c"] = 1.0
    return rows


def load(url: str, months: int, region_days: int, now: datetime) -> dict[str, Any]:
    started = time.perf_counter()
    minutes_end = now.replace(second=0, microsecond=0)
    start = minutes_end - timedelta(days=30 * months)
    with psycopg.connect(url, autocommit=True) as connection:
        conn: Any = connection  # rows typed loosely: every INSERT here RETURNS one id
        site_id = conn.execute(
            "INSERT INTO sites (code, name, kind, division_code, industry, credit_code,"
            " energy_budget_tce, carbon_budget_tco2) VALUES (%s, %s, 'enterprise', '140105',"
            " 'coke', NULL, 100000, 250000) RETURNING id",
            (SITE, "Benchmark coke works"),
        ).fetchone()[0]
        device_id = conn.execute(
            "INSERT INTO devices (site_id, code) VALUES (%s, 'GW1') RETURNING id", (site_id,)
        ).fetchone()[0]
        point_ids = []
        for code, measure, unit, kind, role, product in POINTS:
            point_ids.append(
                conn.execute(
                    "INSERT INTO points (site_id, device_id, code, name, measure, unit, kind, role,"
                    " product) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (site_id, device_id, code, code, measure, unit, kind, role, product),
                ).fetchone()[0]
            )
        minutes = int((minutes_end - start).total_seconds() // 60)
        conn.execute("ALTER TABLE readings DROP CONSTRAINT pk_readings")
        rows = reading_rows(point_ids, start, minutes, [p[3] for p in POINTS])
        t = time.perf_counter()
        copy_binary(conn, "readings", "point_id, ts, value, quality", rows)
        conn.execute("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (point_id, ts)")
        copy_s = time.perf_counter() - t
        n_readings = len(rows)
        del rows
        bucket_start = start - timedelta(minutes=start.minute % 15)
        buckets = int((minutes_end - bucket_start).total_seconds() // 900)
        consumption = [i for i, p in enumerate(POINTS) if p[4] in ("consumption", "output")]
        conn.execute("ALTER TABLE consumption_15min DROP CONSTRAINT pk_consumption_15min")
        copy_binary(
            conn,
            "consumption_15min",
            "point_id, bucket, quantity, tce, tco2, completeness",
            rollup_rows(
                [point_ids[i] for i in consumption],
                [POINTS[i][4] for i in consumption],
                [POINTS[i][1] for i in consumption],
                bucket_start,
                buckets,
            ),
        )
        # the region: 999 more enterprises with 3 points each
        region_start = local_midnight(minutes_end.astimezone(_tz()).date(), TZ) - timedelta(
            days=region_days - 1
        )
        # set-based: a thousand sites in four statements
        conn.execute(
            "INSERT INTO sites (code, name, kind, division_code, industry, energy_budget_tce,"
            " carbon_budget_tco2) SELECT 'BENCH-' || lpad(i::text, 3, '0'), 'Enterprise ' || i,"
            " 'enterprise', '1401' || lpad((i % 20 + 1)::text, 2, '0'), 'coke', 50000, 120000"
            " FROM generate_series(1, 999) AS i"
        )
        conn.execute(
            "INSERT INTO devices (site_id, code) SELECT id, 'GW1' FROM sites"
            " WHERE code LIKE 'BENCH-%%' AND code <> %s",
            (SITE,),
        )
        conn.execute(
            "INSERT INTO points (site_id, device_id, code, measure, unit, kind, role, product)"
            " SELECT s.id, d.id, x.code, x.measure, x.unit, x.kind, x.role, x.product"
            " FROM sites s JOIN devices d ON d.site_id = s.id CROSS JOIN (VALUES"
            " ('E01', 'electricity', 'kWh', 'cumulative', 'consumption', NULL),"
            " ('C01', 'raw_coal', 't', 'interval', 'consumption', NULL),"
            " ('P01', 'product', 't', 'interval', 'output', 'coke_top_charged'))"
            " AS x(code, measure, unit, kind, role, product) WHERE s.id <> %s",
            (site_id,),
        )
        conn.execute(
            "INSERT INTO alerts (rule, kind, subject, site_id, state, severity, value,"
            " threshold, unit, started_at, fired_at) SELECT 'intensity.coke_top_charged',"
            " 'intensity', 'site:' || code, id, 'firing', 'warning', 140, 135, 'kgce/t',"
            " now(), now() FROM sites WHERE id <> %s AND id %% 10 = 0",
            (site_id,),
        )
        others = conn.execute(
            "SELECT id, role, measure FROM points WHERE site_id <> %s ORDER BY id", (site_id,)
        ).fetchall()
        other_points = [r[0] for r in others]
        roles = [r[1] for r in others]
        measures = [r[2] for r in others]
        region_buckets = int((minutes_end - region_start).total_seconds() // 900)
        copy_binary(
            conn,
            "consumption_15min",
            "point_id, bucket, quantity, tce, tco2, completeness",
            rollup_rows(other_points, roles, measures, region_start, region_buckets),
        )
        conn.execute(
            "ALTER TABLE consumption_15min ADD CONSTRAINT pk_consumption_15min"
            " PRIMARY KEY (point_id, bucket)"
        )
        t = time.perf_counter()
        daily.refresh_all(conn)  # the daily totals the rollup keeps beside the buckets
        daily_s = time.perf_counter() - t
        # Settle the freshly loaded tables (visibility map, statistics, dirty buffers) so that
        # autovacuum and a checkpoint do not run in the middle of the measurements.
        conn.execute(
            "VACUUM (ANALYZE) readings, consumption_15min, consumption_daily, points, sites"
        )
        conn.execute("CHECKPOINT")
    return {
        "site_id": site_id,
        "point_ids": point_ids,
        "readings": n_readings,
        "copy_s": copy_s,
        "daily_s": daily_s,
        "load_s": time.perf_counter() - started,
        "rollup_rows_region": len(other_points) * region_buckets,
    }


def _tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(TZ)


# --- measuring ------------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed(fn: Callable[[], Any], runs: int, warmup: int = 3) -> dict[str, float]:
    """p50/p95 of wall time per call; with `server_*` from the answers' Server-Timing header
    when `fn` returns it (time inside the API process)."""
    for _ in range(warmup):
        fn()
    times = []
    server = []
    for _ in range(runs):
        t = time.perf_counter()
        answer = fn()
        times.append((time.perf_counter() - t) * 1000)
        if isinstance(answer, float):
            server.append(answer)
    out = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(_p95(times), 2)}
    if server:
        out["server_p50_ms"] = round(statistics.median(server), 2)
        out["server_p95_ms"] = round(_p95(server), 2)
    return out


def throughput(make_call: Callable[[], Callable[[], Any]], clients: int, seconds: float) -> dict:
    """Requests per second and latency with `clients` threads calling back to back, each with
    its own connection (made by `make_call`)."""
    calls = [make_call() for _ in range(clients)]
    for call in calls:
        call()  # warm: connection open, statement prepared
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(call: Callable[[], Any]) -> None:
        mine = []
        while time.perf_counter() < stop:
            t = time.perf_counter()
            call()
            mine.append((time.perf_counter() - t) * 1000)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client, args=(call,)) for call in calls]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests_per_s": round(len(times) / elapsed, 1),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_p95(times), 2),
    }


def start_api(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": url,
        "ENERGYWATCH_API__PORT": str(port),
        "ENERGYWATCH_API__METRICS_PORT": str(free_port()),
        "ENERGYWATCH_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([str(REPO / ".venv/bin/energywatch"), "api"], env=env, cwd=REPO)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the API did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    months = 2 if args.quick else 12
    runs = 30 if args.quick else 200
    now = datetime.now(UTC)
    today = now.astimezone(_tz()).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    # without --quick, the region has rollups for the whole last month, which is ranked
    region_days = 2 if args.quick else (today - last_month).days + 1
    url = create_database(PG_URL, f"ew_bench_api_{uuid.uuid4().hex[:8]}")
    proc = None
    try:
        upgrade(url, use_timescaledb=False)
        log(f"loading {months} months of minute data for 20 points ...")
        loaded = load(url, months, region_days, now)
        log(
            f"loaded {loaded['readings']:,} readings in {loaded['copy_s']:.1f} s (COPY + index);"
            f" daily totals in {loaded['daily_s']:.1f} s; {loaded['load_s']:.1f} s in all"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO api_users (username, password_hash, role, scope) VALUES"
                " ('bench', %s, 'regulator', %s)",
                (_hash(PASSWORD), DIVISION),
            )
        port = free_port()
        proc = start_api(url, port)
        base = f"http://127.0.0.1:{port}"
        http = httpx.Client(base_url=base, timeout=30)
        token = http.post(
            "/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        results: dict[str, Any] = {}

        def api_get(path: str, **params: Any) -> Callable[[], float]:
            def call() -> float:
                r = http.get(path, params=params)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
                return float(r.headers["server-timing"].partition("dur=")[2])

            return call

        baselines = _baselines(url, loaded, last_month)
        cases = {
            "live": api_get(f"/api/v1/sites/{SITE}/live"),
            "report": api_get(
                f"/api/v1/reports/sites/{SITE}/monthly",
                month=last_month.strftime("%Y-%m"),
                format="csv",
            ),
            "ranking": api_get(f"/api/v1/regions/{DIVISION}/ranking", period="day", limit=1000),
        }
        if not args.quick:
            cases["ranking_month"] = api_get(
                f"/api/v1/regions/{DIVISION}/ranking",
                period="month",
                month=last_month.strftime("%Y-%m"),
                limit=1000,
            )
        check = http.get(f"/api/v1/regions/{DIVISION}/ranking", params={"limit": 1000}).json()
        assert check["total"] == 1000, check["total"]
        for name, call in cases.items():
            log(f"measuring {name} ...")
            api = timed(call, runs)
            base_t = timed(baselines[name], runs)
            results[name] = {
                **api,
                "baseline_p50_ms": base_t["p50_ms"],
                "baseline_p95_ms": base_t["p95_ms"],
                "ratio_p50_api_to_baseline": round(api["p50_ms"] / base_t["p50_ms"], 2),
            }
            log(f"  {name}: {json.dumps(results[name])}")
        seconds = 3.0 if args.quick else 10.0
        live_path = f"/api/v1/sites/{SITE}/live"

        def api_client() -> Callable[[], Any]:
            client = httpx.Client(base_url=base, timeout=30, headers=dict(http.headers))
            return lambda: client.get(live_path).raise_for_status()

        def sql_client() -> Callable[[], Any]:
            return _baselines(url, loaded, last_month)["live"]

        concurrency = []
        for clients in (1, 4, 16):
            log(f"live view with {clients} concurrent clients ...")
            api_t = throughput(api_client, clients, seconds)
            sql_t = throughput(sql_client, clients, seconds)
            concurrency.append(
                {
                    **api_t,
                    "baseline_requests_per_s": sql_t["requests_per_s"],
                    "ratio_to_baseline": round(
                        api_t["requests_per_s"] / sql_t["requests_per_s"], 2
                    ),
                }
            )
            log(f"  {json.dumps(concurrency[-1])}")
        http.close()
        rss = peak_rss_mb(proc.pid)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        drop_database(PG_URL, url)
    targets = {
        "live_p95_ms": 50,
        "report_p95_ms": 200,
        "ranking_p95_ms": 200,
        "ranking_month_p95_ms": 200,
        "rss_mb": 300,
    }
    summary = {
        "benchmark": "api",
        "quick": args.quick,
        "settings": {
            "api": "energywatch api, default settings, own process, HTTP keep-alive",
            "caller": "regulator of the region (scope checked on every request)",
            "months_of_minute_data": months,
            "points_of_the_site": len(POINTS),
            "region_enterprises": 1000,
            "region_rollup_days": region_days,
            "runs": runs,
            "concurrency_seconds": 3.0 if args.quick else 10.0,
            "baseline": "the endpoints' query functions on a warm SQLAlchemy connection",
        },
        "months_of_minute_data": months,
        "readings": loaded["readings"],
        "copy_load_s": round(loaded["copy_s"], 1),
        "region_enterprises": 1000,
        "region_rollup_days": region_days,
        "runs": runs,
        **results,
        "live_concurrent": concurrency,
        "api_peak_rss_mb": round(rss, 1),
        "targets": targets,
        "meets_targets": bool(
            results["live"]["p95_ms"] <= 50
            and results["report"]["p95_ms"] <= 200
            and results["ranking"]["p95_ms"] <= 200
            and results.get("ranking_month", {"p95_ms": 0})["p95_ms"] <= 200
            and rss <= 300
        ),
    }
    for name, value in results.items():
        log(
            f"{name:14s} p50 {value['p50_ms']:7.1f} ms  p95 {value['p95_ms']:7.1f} ms  "
            f"(in the API p50 {value['server_p50_ms']:7.1f} ms)  "
            f"baseline p50 {value['baseline_p50_ms']:7.1f} ms"
        )
    log(f"API peak RSS {rss:.0f} MB")
    print(json.dumps(summary))


def _hash(password: str) -> str:
    from energywatch.storage.passwords import hash_password

    return hash_password(password)


def _baselines(url: str, loaded: dict[str, Any], last_month: date) -> dict[str, Callable[[], Any]]:
    """Each endpoint's own statements, through the query functions it calls
    (services/api/queries, and the live router's point list), on a warm SQLAlchemy connection
    as the endpoint gets it: the same SQL, parameters and row handling, without HTTP, auth,
    scope checks, validation and serialisation."""
    engine = make_engine(url)
    conn = engine.connect()
    site_id = loaded["site_id"]
    regulator = Principal(username="bench", role="regulator", scope=(DIVISION,))
    m0, m1 = month_range(last_month, TZ)

    def live() -> Any:
        now = now_utc()
        pts = points_with_latest(conn, site_id)
        series = live_series(
            conn, {int(p["id"]): str(p["kind"]) for p in pts}, now - timedelta(hours=24), "5m"
        )
        totals = totals_by_measure(conn, site_id, *day_range(local_today(TZ, now), TZ))
        return pts, series, totals, open_alerts_of_site(conn, site_id)

    def ranking(first: date, end: date) -> Any:
        return region_sites(conn, regulator, DIVISION, first, end, order="breaches", limit=1000)

    def ranking_day() -> Any:
        today = local_today(REGION_TZ)
        return ranking(today, today + timedelta(days=1))

    def rollback_after(fn: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            try:
                return fn()
            finally:
                conn.rollback()  # as the endpoint's connection ends its transaction

        return call

    return {
        "live": rollback_after(live),
        "report": rollback_after(lambda: site_month_by_day(conn, site_id, TZ, m0, m1)),
        "ranking": rollback_after(ranking_day),
        "ranking_month": rollback_after(lambda: ranking(last_month, next_month(last_month))),
    }


if __name__ == "__main__":
    main()
