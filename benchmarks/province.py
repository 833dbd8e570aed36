"""A province on one box: N enterprises x 100 points reporting once a minute through a real
broker into ingest, with the rollup, alerting, the API and PostgreSQL on this machine, all
with default settings; what share of the machine they take, how their memory moves, how old
the rollup's dirty marks get, how soon an injected breach becomes an alert, how fast a
regulator's ranking and an operator's live view answer, and whether any reading is lost.

    .venv/bin/python benchmarks/province.py --quick      # 200 enterprises, 25 s window
    .venv/bin/python benchmarks/province.py              # 2,000 enterprises, 20 min window
    .venv/bin/python benchmarks/province.py --enterprises 2000 --minutes 5

The scenario (issue 17, "A province on one box"):
- registry: N enterprises, each one gateway with 100 points: a level-1 electricity meter, a
  coal feed, a product output, a power point, 64 level-2 and 32 level-3 electricity
  sub-meters; written by SQL in the fresh database (the import is benchmarks/registry.py);
- history: every point's readings at one a minute for `history` minutes before the start (2 h;
  --quick 30 min), by binary COPY, with 15-minute rollups and daily totals of the same span
  written by SQL (plausible values, not computed by the rollup: its work is the live flow);
- flow: every enterprise's gateway sends its 100 readings once a minute, the enterprises
  spread evenly over the minute (N x 100 / 60 readings/s), QoS 1, from one MQTT client of this
  process to a private Mosquitto (anonymous: the broker's password check, once per
  connection, is not part of this measurement);
- services: `energywatch ingest`, `rollup`, `alerting`, `api`, each its own process with
  default settings (production mode: real secrets, not the demo's; only ports, the database,
  the broker and one rules directory are set). Alerting runs the shipped rules plus one
  operator rule (`demand`, power over 1,000 kW), whose breaches the benchmark injects.

Phases, with the flow running throughout:
1. baseline: ingest + API + PostgreSQL only (rollup and alerting not started) for
   `baseline` seconds: their CPU share, the cost of storing the flow and serving requests;
2. rollup and alerting start; once both alerting groups have swept once and the rollup has
   worked off the marks the baseline left (it ran without the rollup: every point's last
   minute or more; the time this took is reported as `rollup_catch_up_s`), the steady state,
   the measured window runs `window` seconds (20 min; --quick 25 s).
In both, one client asks every second alternately for the regulator's ranking of the
province (today, first page) and the live view (24 h) of a random enterprise; in the window,
every `probe_every` seconds one enterprise's power point gets a reading of 1,500 kW, and the
time from publish to the alert row in the database is taken.

Figures:
- CPU share of the 2 cores: CPU time (/proc/PID/stat, user + system) of the four service
  process trees and of PostgreSQL's backends of the benchmark database (pg_stat_activity,
  incl. autovacuum workers; the harness's own connections and their parallel workers
  counted apart), over the window's wall time x cores. PostgreSQL's server-wide processes
  (WAL writer, checkpointer, background writer), shared with whatever else runs on the
  server, are reported beside, not added;
- RSS of each service (process tree, summed) at the end, its peak, and its least-squares
  slope over the window in MB/h; "flat" is judged on windows of an hour or more (the
  target's own span: shorter windows, --quick's 25 s included, are not judged);
- dirty-mark age: now() - the oldest marked_at of dirty_buckets and dirty_bucket_log, sampled
  every second; max and p95;
- reading -> alert stored: p50 / p99;
- ranking and live view: wall time at the client, p50 / p95, in the baseline and the window;
- readings lost: published minus stored after the flow stops (waited for, up to 60 s);
- where PostgreSQL's time goes: pg_stat_statements needs shared_preload_libraries, which
  the shared server does not load, so the active statements of the benchmark database are
  sampled from pg_stat_activity every 0.2 s and counted by statement (top 8 shares).
The last line printed is one JSON object with the settings, the figures, the targets and
`targets_met`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import psycopg
import yaml
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.databases import create_database, drop_database  # noqa: E402
from benchmarks.support.network import start_mosquitto  # noqa: E402
from benchmarks.support.pgcopy import copy_binary, reading_rows  # noqa: E402
from benchmarks.support.procstat import (  # noqa: E402
    CpuMeter,
    largest_rss_mb,
    pss_mb,
    rss_mb,
    slope_per_hour,
    tree,
)
from energywatch.settings import Settings  # noqa: E402
from energywatch.storage import daily  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from energywatch.storage.passwords import hash_password  # noqa: E402
from services.demo.broker import free_port  # noqa: E402
from services.demo.processes import ENERGYWATCH, ServiceProcess  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CORES = os.cpu_count() or 2
POINTS_PER_SITE = 100
LEVEL2, LEVEL3 = 64, 32  # electricity sub-meters per enterprise
PROVINCE = "14"
REGULATOR, PASSWORD = "province", "benchmark password"
TOPIC_PREFIX = Settings().mqtt.topic_prefix
REQUEST_TIMEOUT_S = 30.0
TARGETS = {
    "cpu_share_max": 0.50,
    "alerting_rss_mb_max": 500.0,
    "ingest_rss_mb_max": 300.0,
    "rss_slope_mb_per_h_max": 10.0,  # "flat": under 10 MB/h over the window
    "dirty_mark_age_s_max": 60.0,
    "alert_p99_s_max": 1.0,
    "ranking_p95_ms_max": 200.0,
    "live_p95_ms_max": 200.0,
    "readings_lost_max": 0,
}


@dataclass(frozen=True)
class Scenario:
    enterprises: int
    history_min: int
    baseline_s: float
    window_s: float
    probe_every_s: float
    quick: bool

    @property
    def readings_per_s(self) -> float:
        return self.enterprises * POINTS_PER_SITE / 60


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the province in the database -----------------------------------------------------------

# (code, measure, unit, kind, metering level, role, product) of an enterprise's points
POINTS = [
    ("M01", "electricity", "kWh", "cumulative", 1, "consumption", None),
    ("C01", "washed_coal", "t", "interval", 1, "consumption", None),
    ("O01", "product", "t", "interval", 1, "output", "coke_top_charged"),
    ("PW", "power", "kW", "instantaneous", 1, "consumption", None),
    *[
        (
            f"S{k:03d}",
            "electricity",
            "kWh",
            "cumulative",
            2 if k < LEVEL2 else 3,
            "consumption",
            None,
        )
        for k in range(LEVEL2 + LEVEL3)
    ],
]
assert len(POINTS) == POINTS_PER_SITE


def site_code(k: int) -> str:
    return f"P{k:05d}"


def populate(url: str, n: int, history_min: int, start: datetime) -> None:
    """Registry, `history_min` minutes of readings before `start`, their rollups and daily
    totals, and the regulator who asks for the ranking. Points are registered when their
    history begins: registered earlier, every point would rightly be short of a day's data
    and open a completeness alert (200,000 at once, an incident rather than the steady state
    this measures)."""
    first = start - timedelta(minutes=history_min)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sites (code, name, kind, division_code, industry, energy_budget_tce,"
            " carbon_budget_tco2) SELECT 'P' || lpad(g::text, 5, '0'), 'Enterprise ' || g,"
            " 'enterprise', '14' || lpad((g %% 11 + 1)::text, 2, '0') || '01', 'coke',"
            " 400000, 1200000 FROM generate_series(0, %s - 1) g",
            (n,),
        )
        conn.execute("INSERT INTO devices (site_id, code) SELECT id, 'GW1' FROM sites")
        values = sql.SQL(", ").join(
            sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, p))) for p in POINTS
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO points (site_id, device_id, code, measure, unit, kind,"
                " metering_level, role, product, created_at) SELECT d.site_id, d.id, v.code,"
                " v.measure, v.unit, v.kind, v.level, v.role, v.product,"
                " {}::timestamptz FROM devices d CROSS JOIN (VALUES {})"
                " AS v(code, measure, unit, kind, level, role, product) ORDER BY d.site_id"
            ).format(sql.Literal(first), values)
        )
        rows = conn.execute("SELECT id, kind FROM points ORDER BY id").fetchall()
        conn.execute("ALTER TABLE readings DROP CONSTRAINT pk_readings")
        for k in range(0, len(rows), 20_000):  # bounded memory at 200,000 points
            part = rows[k : k + 20_000]
            copy_binary(
                conn,
                "readings",
                "point_id, ts, value, quality",
                reading_rows([r[0] for r in part], first, history_min, [r[1] for r in part]),
            )
        conn.execute("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (point_id, ts)")
        # The rollups of that history, as the rollup would have left them: 10.5 kWh a minute
        # per register (reading_rows' mean step), 1.229e-4 tce/kWh (GB/T 2589-2020
        # equivalent value of electricity), coal and product constant.
        conn.execute(
            """
            INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness,
                                           computed_at)
            SELECT p.id, b,
                   CASE p.kind WHEN 'cumulative' THEN 157.5 ELSE 0.15 END,
                   CASE p.measure WHEN 'electricity' THEN 157.5 * 1.229e-4
                                  WHEN 'washed_coal' THEN 0.15 * 0.9 ELSE 0 END,
                   CASE p.measure WHEN 'electricity' THEN 157.5 * 5.703e-4
                                  WHEN 'washed_coal' THEN 0.15 * 2.5 ELSE 0 END,
                   1.0, %(start)s::timestamptz - interval '1 minute'
            FROM points p
            CROSS JOIN generate_series(
                date_bin('15 minutes', %(first)s::timestamptz, '2000-01-01 00:00+00'),
                %(start)s::timestamptz - interval '15 minutes', interval '15 minutes') b
            WHERE p.kind <> 'instantaneous'
            """,
            {"start": start, "first": first},
        )
        daily.refresh_all(conn)
        conn.execute(
            "INSERT INTO api_users (username, password_hash, role, scope)"
            " VALUES (%s, %s, 'regulator', %s)",
            (REGULATOR, hash_password(PASSWORD), PROVINCE),
        )
        conn.execute("VACUUM (ANALYZE) readings, consumption_15min, consumption_daily, points")
        conn.execute("CHECKPOINT")


# --- the services ----------------------------------------------------------------------------

DEMAND_RULE = {
    "name": "demand",
    "kind": "power",
    "window": "10s",
    "thresholds": {"critical": 1000},
    "clear": 950,
}


@dataclass
class Services:
    url: str
    broker_port: int
    workdir: Path
    api_port: int = field(default_factory=free_port)
    metrics: dict[str, int] = field(default_factory=dict)
    running: dict[str, ServiceProcess] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        rules = self.workdir / "rules"
        rules.mkdir(exist_ok=True)
        (rules / "operator.yaml").write_text(yaml.safe_dump({"rules": [DEMAND_RULE]}))
        for name in ("ingest", "alerting", "rollup", "api"):
            self.metrics.setdefault(name, free_port())
        return {
            "ENERGYWATCH_DATABASE__URL": self.url,
            "ENERGYWATCH_MQTT__HOST": "127.0.0.1",
            "ENERGYWATCH_MQTT__PORT": str(self.broker_port),
            "ENERGYWATCH_LOG_LEVEL": "WARNING",
            "ENERGYWATCH_API__PORT": str(self.api_port),
            "ENERGYWATCH_API__SECRET_KEY": secrets.token_urlsafe(32),
            "ENERGYWATCH_ALERTING__WEBHOOK_SECRET": secrets.token_urlsafe(32),
            "ENERGYWATCH_ALERTING__RULES_DIR": str(rules),
            "ENERGYWATCH_INGEST__METRICS_PORT": str(self.metrics["ingest"]),
            "ENERGYWATCH_ALERTING__METRICS_PORT": str(self.metrics["alerting"]),
            "ENERGYWATCH_ROLLUP__METRICS_PORT": str(self.metrics["rollup"]),
            "ENERGYWATCH_API__METRICS_PORT": str(self.metrics["api"]),
        }

    def start(self, name: str) -> None:
        proc = ServiceProcess(name, [*ENERGYWATCH, name], self.env(), self.workdir / f"{name}.log")
        proc.start()
        self.running[name] = proc

    def pids(self, *names: str) -> dict[str, list[int]]:
        return {
            n: tree(p.proc.pid)
            for n, p in self.running.items()
            if p.proc is not None and (not names or n in names)
        }

    def check(self) -> None:
        for name, proc in self.running.items():
            if proc.exit_code is not None:
                raise RuntimeError(f"{name} exited ({proc.exit_code}):\n{proc.tail()}")

    def stop(self) -> None:
        for proc in reversed(list(self.running.values())):
            proc.stop()


def wait_for(what: str, ready: Callable[[], bool], services: Services, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        services.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


def metric(port: int, name: str, labels: str = "") -> float | None:
    """A sample of the service's Prometheus page, by name and a label substring."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name) and labels in line:
            return float(line.split()[-1])
    return None


def api_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def database_now(url: str) -> datetime:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


def caught_up(conn: psycopg.Connection, since: datetime) -> bool:
    """No dirty mark made before `since` is left (the rollup has worked off what the baseline,
    run without it, left behind); `conn` in autocommit, so each look sees the latest."""
    row = conn.execute(
        "SELECT least((SELECT min(marked_at) FROM dirty_buckets),"
        " (SELECT min(marked_at) FROM dirty_bucket_log)) >= %s",
        (since,),
    ).fetchone()
    return row is None or row[0] is None or bool(row[0])


def swept(services: Services) -> bool:
    """Both alerting groups have done their first full evaluation (steady state)."""
    return all(
        (
            metric(
                services.metrics["alerting"],
                "energywatch_alerting_evaluations_total",
                f'group="{group}",run="sweep"',
            )
            or 0
        )
        > 0
        for group in ("fast", "slow")
    )


# --- the load ----------------------------------------------------------------------------------


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


class Flow:
    """Every enterprise's gateway sends its 100 readings once a minute, the enterprises spread
    evenly over the minute; and on demand, a power reading over the demand limit."""

    def __init__(self, client: mqtt.Client, n: int, history_start: float) -> None:
        self.client, self.n, self.history_start = client, n, history_start
        self.sent = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def message(self, k: int, t: float) -> str:
        minutes = (t - self.history_start) / 60
        ts = _ts(t)
        readings = []
        for code, _m, _u, kind, *_ in POINTS:
            if kind == "cumulative":  # rises ~11 kWh a minute, never below the history
                v = 1e5 + 11.0 * (minutes + 1) + (k % 7)
            elif kind == "instantaneous":
                v = 600.0 + (k % 50)
            else:
                v = 0.01
            readings.append({"point": code, "ts": ts, "v": round(v, 3)})
        return json.dumps({"seq": int(t * 1000), "readings": readings})

    def publish(self, k: int, payload: str, readings: int) -> None:
        with self.lock:
            self.client.publish(f"{TOPIC_PREFIX}/{site_code(k)}/GW1/readings", payload, qos=1)
            self.sent += readings

    def run(self) -> None:
        interval = 60.0 / self.n
        next_at = time.monotonic()
        k = 0
        while not self.stop.is_set():
            self.publish(k % self.n, self.message(k % self.n, time.time()), POINTS_PER_SITE)
            k += 1
            next_at += interval
            if (delay := next_at - time.monotonic()) > 0:
                self.stop.wait(delay)

    def breach(self, k: int) -> float:
        t = time.time()
        payload = {
            "seq": int(t * 1000) + 1,
            "readings": [{"point": "PW", "ts": _ts(t), "v": 1500.0}],
        }
        self.publish(k, json.dumps(payload), 1)
        return t


class AlertWatch:
    """The demand alerts stored since the last look, by primary key (an index range scan:
    cheap however many alerts are open, so the harness does not load the database)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        row = conn.execute("SELECT coalesce(max(id), 0) FROM alerts").fetchone()
        self.last_id = int(row[0]) if row else 0

    def poll(self, stored: dict[str, float]) -> None:
        for alert_id, subject in self.conn.execute(
            "SELECT id, subject FROM alerts WHERE id > %s AND rule = 'demand' ORDER BY id",
            (self.last_id,),
        ).fetchall():
            stored.setdefault(subject, time.time())
            self.last_id = max(self.last_id, int(alert_id))


class Requests:
    """One client asking every second, alternately, for the regulator's ranking and the live
    view of a random enterprise; wall times by phase. Logs in again when the token expires
    (`api.token_minutes`, an hour by default), as the dashboard does."""

    def __init__(self, port: int, n: int) -> None:
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT_S)
        self.log_in()
        self.n = n
        self.phase = "baseline"
        self.times: dict[str, list[float]] = {}
        self.live_bytes: list[int] = []
        self.errors = self.timeouts = 0
        self.stop = threading.Event()

    def log_in(self) -> None:
        token = self.http.post(
            "/api/v1/auth/token", data={"username": REGULATOR, "password": PASSWORD}
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def run(self) -> None:
        rng = random.Random(3)
        turn = 0
        while not self.stop.wait(0.5):
            turn += 1
            if turn % 2:
                name, path = "ranking", f"/api/v1/regions/{PROVINCE}/ranking"
            else:
                name, path = "live", f"/api/v1/sites/{site_code(rng.randrange(self.n))}/live"
            t = time.perf_counter()
            try:
                r = self.http.get(path)
            except httpx.TimeoutException:
                # counted at the timeout: a lower bound of what the caller would have waited
                self.times.setdefault(f"{self.phase}:{name}", []).append(1000 * REQUEST_TIMEOUT_S)
                self.timeouts += 1
                continue
            except httpx.HTTPError:
                self.errors += 1
                continue
            ms = 1000 * (time.perf_counter() - t)
            if r.status_code == 401:  # the token expired: not the endpoint's failure
                self.log_in()
                continue
            if r.status_code != 200:
                self.errors += 1
                continue
            self.times.setdefault(f"{self.phase}:{name}", []).append(ms)
            if name == "live":
                self.live_bytes.append(len(r.content))


# --- sampling ------------------------------------------------------------------------------

MARK_AGE_SQL = """
    SELECT extract(epoch FROM now() - least(
        (SELECT min(marked_at) FROM dirty_buckets), (SELECT min(marked_at) FROM dirty_bucket_log)))
"""
# A parallel query's workers are backends of their own (leader_pid names the leader).
BACKENDS_SQL = """
    SELECT pid, coalesce(leader_pid, pid) FROM pg_stat_activity
     WHERE datname = current_database()
"""
SHARED_SQL = """
    SELECT pid, backend_type FROM pg_stat_activity
     WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer')
"""
ACTIVE_SQL = """
    SELECT coalesce(leader_pid, pid), coalesce(wait_event_type || ':' || wait_event, 'on CPU'),
           query
      FROM pg_stat_activity
     WHERE datname = current_database() AND state = 'active'
"""


@dataclass
class Samples:
    cpu: dict[str, CpuMeter] = field(default_factory=dict)
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    pss: dict[str, list[float]] = field(default_factory=dict)
    largest: dict[str, list[float]] = field(default_factory=dict)
    mark_ages: list[float] = field(default_factory=list)
    statements: Counter[str] = field(default_factory=Counter)
    activity_samples: int = 0


class Sampler:
    """Every second: CPU of the services' trees and of the database's backends, each
    service's RSS, the oldest dirty mark; every 0.2 s: the active statements."""

    def __init__(self, url: str, services: Services) -> None:
        self.url, self.services = url, services
        self.conn = psycopg.connect(url, autocommit=True)
        self.activity = psycopg.connect(url, autocommit=True)
        self.harness: list[int] = [self.conn.info.backend_pid, self.activity.info.backend_pid]
        self.samples = Samples()
        self.measuring: tuple[str, ...] = ()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def groups(self) -> dict[str, list[int]]:
        pids = self.services.pids(*self.measuring)
        # the harness's own backends, and their parallel workers, are counted apart
        backends = self.conn.execute(BACKENDS_SQL).fetchall()
        pids["postgres"] = [p for p, leader in backends if leader not in self.harness]
        pids["harness_postgres"] = [p for p, leader in backends if leader in self.harness]
        pids["postgres_shared"] = [r[0] for r in self.conn.execute(SHARED_SQL)]
        return pids

    def begin(self, services: tuple[str, ...]) -> Samples:
        """Start a measured phase over `services` (and PostgreSQL); its samples."""
        with self.lock:
            self.measuring = services
            self.samples = Samples()
            for name, pids in self.groups().items():
                self.samples.cpu[name] = CpuMeter()
                self.samples.cpu[name].start(pids)
            self.t0 = time.monotonic()
            return self.samples

    def run(self) -> None:
        next_full = time.monotonic()
        while not self.stop.wait(0.2):
            with self.lock:
                s = self.samples
                for leader, waiting, query in self.activity.execute(ACTIVE_SQL):
                    if leader in self.harness:
                        continue
                    s.statements[f"[{waiting}] " + " ".join(query.split())[:160]] += 1
                s.activity_samples += 1
                if time.monotonic() < next_full or not self.measuring:
                    continue
                next_full += 1.0
                t = time.monotonic() - self.t0
                for name, pids in self.groups().items():
                    s.cpu.setdefault(name, CpuMeter()).sample(pids)
                    if name in self.measuring:
                        s.rss.setdefault(name, []).append((t, rss_mb(pids)))
                        s.pss.setdefault(name, []).append(pss_mb(pids))
                        s.largest.setdefault(name, []).append(largest_rss_mb(pids))
                row = self.conn.execute(MARK_AGE_SQL).fetchone()
                if row and row[0] is not None:
                    s.mark_ages.append(float(row[0]))

    def close(self) -> None:
        self.conn.close()
        self.activity.close()


@contextmanager
def running(target: Callable[[], None], stop: threading.Event) -> Iterator[None]:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


# --- the run ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def cpu_figures(samples: Samples, seconds: float, services: tuple[str, ...]) -> dict[str, Any]:
    used = {name: meter.seconds() for name, meter in samples.cpu.items()}
    counted = sum(used.get(n, 0.0) for n in (*services, "postgres"))
    return {
        "share_of_cores": round(counted / (seconds * CORES), 3),
        "cores_used": round(counted / seconds, 3),
        "by_process_cores": {n: round(s / seconds, 3) for n, s in sorted(used.items())},
    }


def rss_figures(samples: Samples) -> dict[str, Any]:
    out = {}
    for name, series in sorted(samples.rss.items()):
        ts, mb = [t for t, _ in series], [v for _, v in series]
        slope = slope_per_hour(ts, mb)
        out[name] = {
            "end_mb": round(mb[-1], 1),
            "peak_mb": round(max(mb), 1),
            "slope_mb_per_h": None if slope is None else round(slope, 1),
            "peak_pss_mb": round(max(samples.pss[name]), 1),
            "largest_process_peak_mb": round(max(samples.largest[name]), 1),
        }
    return out


def top_statements(samples: Samples, k: int = 8) -> list[dict[str, Any]]:
    total = sum(samples.statements.values())
    return [
        {
            "statement": q,
            "mean_backends_running_it": round(c / samples.activity_samples, 3),
            "share_of_active": round(c / total, 3),
        }
        for q, c in samples.statements.most_common(k)
    ]


def stored_since(url: str, since: datetime) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM readings WHERE ts >= %s", (since,)).fetchone()
        return int(row[0]) if row else 0


def measure(sc: Scenario) -> dict[str, Any]:
    url = create_database(PG_URL, f"ew_bench_province_{uuid.uuid4().hex[:8]}")
    with ExitStack() as stack:
        stack.callback(drop_database, PG_URL, url)
        t = time.perf_counter()
        upgrade(url)
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        log(f"loading {sc.enterprises * POINTS_PER_SITE:,} points, {sc.history_min} min history")
        populate(url, sc.enterprises, sc.history_min, start)
        setup_s = time.perf_counter() - t
        log(f"loaded in {setup_s:.1f} s")
        broker = stack.enter_context(start_mosquitto())
        services = Services(
            url, broker.port, Path(stack.enter_context(tempfile.TemporaryDirectory()))
        )
        stack.callback(services.stop)
        services.start("ingest")
        services.start("api")
        wait_for("the API", lambda: api_ready(services.api_port), services, 60)
        wait_for(
            "ingest to subscribe",
            lambda: metric(services.metrics["ingest"], "ingest_mqtt_connected") == 1,
            services,
            60,
        )
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"province-{uuid.uuid4().hex[:6]}"
        )
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(1000)
        client.connect(broker.host, broker.port)
        client.loop_start()
        stack.callback(client.disconnect)
        stack.callback(client.loop_stop)
        flow = Flow(client, sc.enterprises, (start - timedelta(minutes=sc.history_min)).timestamp())
        requests = Requests(services.api_port, sc.enterprises)
        sampler = Sampler(url, services)
        stack.callback(sampler.close)
        flow_started = datetime.now(UTC)
        stack.enter_context(running(flow.run, flow.stop))
        stack.enter_context(running(requests.run, requests.stop))
        stack.enter_context(running(sampler.run, sampler.stop))

        # 1. baseline: ingest, the API and PostgreSQL alone under the same flow
        time.sleep(2.0)
        base_only = ("ingest", "api")
        base = sampler.begin(base_only)
        time.sleep(sc.baseline_s)
        base_s = time.monotonic() - sampler.t0
        services.check()
        baseline_cpu = cpu_figures(base, base_s, base_only)
        log(f"baseline: {json.dumps(baseline_cpu)}")

        # 2. everything
        rollup_started = database_now(url)
        services.start("rollup")
        services.start("alerting")
        requests.phase = "warmup"
        t = time.monotonic()
        wait_for("alerting's first sweeps", lambda: swept(services), services, 900)
        warmup_s = time.monotonic() - t
        with psycopg.connect(url, autocommit=True) as marks:
            wait_for(
                "the rollup to catch up with the baseline's marks",
                lambda: caught_up(marks, rollup_started),
                services,
                900,
            )
        catch_up_s = time.monotonic() - t
        log(
            f"alerting swept after {warmup_s:.1f} s, the rollup caught up after"
            f" {catch_up_s:.1f} s; measuring {sc.window_s:g} s"
        )
        every = ("ingest", "api", "rollup", "alerting")
        requests.phase = "window"
        samples = sampler.begin(every)
        published: dict[str, float] = {}
        stored: dict[str, float] = {}
        with psycopg.connect(url, autocommit=True) as conn:
            sampler.harness.append(conn.info.backend_pid)
            # the poll must not take the cores it measures: no parallel workers for it
            conn.execute("SET max_parallel_workers_per_gather = 0")
            watch = AlertWatch(conn)
            probe = 0
            next_probe = time.monotonic() + 1.0
            end = time.monotonic() + sc.window_s
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_probe and now < end - 2.0:
                    k = (probe * 7919) % sc.enterprises  # a different enterprise each time
                    published[f"point:{site_code(k)}/PW"] = flow.breach(k)
                    probe += 1
                    next_probe += sc.probe_every_s
                watch.poll(stored)
                time.sleep(0.1)
            window_s = time.monotonic() - sampler.t0
            services.check()
            deadline = time.monotonic() + 3.0  # the last probes' alerts
            while any(s not in stored for s in published) and time.monotonic() < deadline:
                watch.poll(stored)
                time.sleep(0.1)
        with sampler.lock:
            cpu = cpu_figures(samples, window_s, every)
            rss = rss_figures(samples)
            statements = top_statements(samples)
            ages = list(samples.mark_ages)
        requests.stop.set()
        flow.stop.set()
        time.sleep(0.5)
        sent = flow.sent
        deadline = time.monotonic() + 60
        while (got := stored_since(url, flow_started - timedelta(seconds=1))) < sent:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        stayed_up = all(p.exit_code is None for p in services.running.values())
        with psycopg.connect(url, autocommit=True) as conn:
            open_alerts: dict[str, int] = dict(
                conn.execute(
                    "SELECT rule, count(*) FROM alerts WHERE state IN ('pending', 'firing')"
                    " GROUP BY rule ORDER BY rule"
                ).fetchall()
            )
        requests.http.close()

    to_alert = [stored[s] - published[s] for s in published if s in stored]
    times = requests.times

    def latency(phase: str, name: str) -> dict[str, Any]:
        v = times.get(f"{phase}:{name}", [])
        return {"n": len(v), "p50_ms": pct(v, 50), "p95_ms": pct(v, 95)}

    api = {
        "ranking": latency("window", "ranking"),
        "live": latency("window", "live"),
        "baseline_ranking": latency("baseline", "ranking"),
        "baseline_live": latency("baseline", "live"),
        "live_json_kb_median": (
            round(statistics.median(requests.live_bytes) / 1024, 1) if requests.live_bytes else None
        ),
        "errors": requests.errors,
        "timeouts_counted_at_s": {"count": requests.timeouts, "timeout_s": REQUEST_TIMEOUT_S},
    }
    return {
        "setup_s": round(setup_s, 1),
        "alerting_warmup_s": round(warmup_s, 1),
        "rollup_catch_up_s": round(catch_up_s, 1),
        "window_s": round(window_s, 1),
        "baseline_s": round(base_s, 1),
        "cpu": cpu,
        "baseline_ingest_api_postgres_cpu": baseline_cpu,
        "rss": rss,
        "dirty_mark_age_s": {
            "max": round(max(ages), 1) if ages else None,
            "p95": pct(ages, 95),
            "samples": len(ages),
        },
        "alert": {
            "probes": len(published),
            "stored": len(to_alert),
            "p50_s": pct(to_alert, 50),
            "p99_s": pct(to_alert, 99),
            "max_s": round(max(to_alert), 3) if to_alert else None,
        },
        "api": api,
        "readings_published": sent,
        "readings_stored": got,
        "readings_lost": sent - got,
        "postgres_top_statements": statements,
        "open_alerts_by_rule_at_end": open_alerts,
        "services_stayed_up": stayed_up,
    }


def judge(r: dict[str, Any], sc: Scenario) -> dict[str, bool | None]:
    rss = r["rss"]
    slopes = [rss[s]["slope_mb_per_h"] for s in ("alerting", "ingest") if s in rss]

    def le(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    return {
        "cpu_share": r["cpu"]["share_of_cores"] <= TARGETS["cpu_share_max"],
        # alerting is one process: its RSS (PSS is lower: libraries shared with the other
        # services count in part); a tree of several would be judged by its PSS
        "alerting_rss": le(
            max(rss["alerting"]["peak_pss_mb"], rss["alerting"]["largest_process_peak_mb"]),
            TARGETS["alerting_rss_mb_max"],
        ),
        "ingest_rss": le(rss.get("ingest", {}).get("peak_mb"), TARGETS["ingest_rss_mb_max"]),
        # the target is flat over an hour: in a shorter window the slope follows where
        # alerting's 5-minute data-quality runs (about +50 MB for seconds) fall, not a trend
        # (+19 to +77 MB/h over 10-minute windows whose hours gave +2 to +20)
        "rss_flat": (
            None
            if r["window_s"] < 3600 or None in slopes
            else all(abs(s) <= TARGETS["rss_slope_mb_per_h_max"] for s in slopes)
        ),
        "dirty_marks": le(r["dirty_mark_age_s"]["max"], TARGETS["dirty_mark_age_s_max"]),
        "alert_p99": (
            r["alert"]["stored"] == r["alert"]["probes"]
            and bool(le(r["alert"]["p99_s"], TARGETS["alert_p99_s_max"]))
        ),
        "ranking_p95": le(r["api"]["ranking"]["p95_ms"], TARGETS["ranking_p95_ms_max"]),
        "live_p95": le(r["api"]["live"]["p95_ms"], TARGETS["live_p95_ms_max"]),
        "readings_lost": r["readings_lost"] == 0 and r["services_stayed_up"],
    }


def settings_of(sc: Scenario) -> dict[str, Any]:
    defaults = Settings()
    return {
        "enterprises": sc.enterprises,
        "points": sc.enterprises * POINTS_PER_SITE,
        "points_per_enterprise": "1 level-1 meter, coal, product, power, 64 level-2 and 32"
        " level-3 electricity sub-meters",
        "readings_per_s": round(sc.readings_per_s, 1),
        "history_min": sc.history_min,
        "baseline_s": sc.baseline_s,
        "window_s": sc.window_s,
        "probe_every_s": sc.probe_every_s,
        "scaled_down": (
            f"{sc.enterprises} of 2,000 enterprises, {sc.history_min} of 120 min history,"
            f" {sc.window_s:g} s of 20 min"
            if sc.quick or sc.enterprises < 2000 or sc.window_s < 1200
            else None
        ),
        "services": "energywatch ingest, rollup, alerting, api; one process each, defaults",
        "changed_from_defaults": {
            "database, broker host/port, API and metrics ports": "per run",
            "api.secret_key, alerting.webhook_secret": "random (production mode, not demo)",
            "alerting.rules_dir": "one operator rule 'demand' (power > 1,000 kW) beside the"
            " shipped rules",
        },
        "rollup": defaults.rollup.model_dump(mode="json"),
        "alerting": defaults.alerting.model_dump(
            mode="json", include={"interval_s", "events", "sweep_s", "default_rules"}
        ),
        "ingest": defaults.ingest.model_dump(
            mode="json", include={"writers", "batch_max_readings", "batch_max_age_ms"}
        ),
        "broker": "private Mosquitto, anonymous (authentication not measured), QoS 1",
        "publisher": "one MQTT client of the benchmark process for all gateways",
        "baseline": "ingest + API + PostgreSQL alone (rollup and alerting not started), same"
        " flow and requests",
        "cores": CORES,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 enterprises, 25 s window")
    parser.add_argument("--enterprises", type=int)
    parser.add_argument("--minutes", type=float, help="measured window, minutes")
    parser.add_argument("--history", type=int, help="history preloaded, minutes")
    args = parser.parse_args()
    sc = Scenario(
        enterprises=args.enterprises or (200 if args.quick else 2000),
        history_min=args.history or (30 if args.quick else 120),
        baseline_s=8.0 if args.quick else 60.0,
        window_s=60 * args.minutes if args.minutes else (25.0 if args.quick else 1200.0),
        probe_every_s=1.0 if args.quick else 5.0,
        quick=args.quick,
    )
    load_before = round(os.getloadavg()[0], 1)
    r = measure(sc)
    met = judge(r, sc)
    judged = [v for v in met.values() if v is not None]
    baseline_share = r["baseline_ingest_api_postgres_cpu"]["share_of_cores"]
    out = {
        "benchmark": "province",
        "quick": sc.quick,
        "settings": settings_of(sc),
        "load_average_before": load_before,
        **r,
        "cpu_share_ratio_to_baseline": (
            round(r["cpu"]["share_of_cores"] / baseline_share, 2) if baseline_share else None
        ),
        "targets": TARGETS,
        "targets_met": {**met, "all_judged": bool(judged) and all(judged)},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
