"""Alerting benchmark: 1,000 enterprises x 10 rules; evaluation cost, and the latency from a
reading published to the broker to the alert stored and the webhook received, while a
background flow of ~10,000 readings/s goes through the real ingest service -- with the
DEFAULT alerting and ingest settings, event-driven, against the timer-driven design
(`alerting.events=false`) as the baseline in the same run.

    .venv/bin/python benchmarks/alerting.py --quick

1. Cycle: a fresh database with 1,000 enterprises (4 points each), a day of 15-minute
   rollups and an hour of readings, 10 rules, all due every cycle (the worst case). Full
   cycles (a sweep, and every cycle of the timer-driven design) with the numba state step
   and with its plain-Python twin; then event evaluations of 10, 100 and 1,000 changed
   points, whose cost must follow the points changed.
2. Latency: ingest and alerting run as their own processes with default settings (only
   ports, the rules directory and the webhook allow-list are set); once both evaluation
   groups have done their first sweep (steady state), a publisher thread sends
   the background flow; every half second a probe enterprise's power point gets one reading
   over its contracted limit. Times: publish -> alert row visible -> webhook received. Run
   once event-driven and once timer-driven (baseline), on probe enterprises of their own.
3. Memory: peak RSS (VmHWM) of ingest and of alerting (one process, its slow group a
   thread; the tree is summed in case a process of its own appears), and alerting's peak
   PSS (shared library pages split with the other processes that map them, sampled every
   0.5 s).

--quick probes for 8 s per design instead of 30 s (16 probes instead of 40 each) and runs
fewer cycles; the region, the rules and the flow are the same. The last line printed is one
JSON object with the figures and the settings. The machine is shared: figures are noisy,
medians are quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import psycopg
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from energywatch.core.thresholds import step_states, step_states_reference  # noqa: E402
from energywatch.settings import Settings  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from services.alerting.evaluator import Evaluator, RuleSource  # noqa: E402
from services.alerting.events import Changes  # noqa: E402
from services.alerting.webhooks import WebhookPolicy  # noqa: E402

PG = os.environ.get("ENERGYWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
N_ENTERPRISES = 1000
N_PROBES = 40  # per design: probe enterprises E0000-E0039 event-driven, E0040-E0079 timer
N_QUIET = 2 * N_PROBES  # the background flow leaves the probe enterprises alone
SECRET = "bench-webhook-secret"
LOOPBACK = WebhookPolicy.allowing(["127.0.0.0/8"])  # the benchmark's receiver


def rules(webhook: str, heavy_every: str | None) -> list[dict[str, Any]]:
    every = {"every": heavy_every} if heavy_every else {}
    hook = [{"webhook": webhook}]
    return [
        {
            "name": "intensity",
            "kind": "intensity",
            "select": {"product": "coke_top_charged"},
            "thresholds": {"warning": "level1", "critical": "level3"},
            "hysteresis": 0.02,
            "window": "24h",
            **every,
        },
        {
            "name": "energy",
            "kind": "energy",
            "window": "1h",
            "thresholds": {"warning": 50},
            **every,
        },
        {
            "name": "emissions",
            "kind": "emissions",
            "window": "1h",
            "thresholds": {"warning": 150},
            **every,
        },
        {"name": "budget-pace", "kind": "budget_pace", "thresholds": {"warning": 1.0}, **every},
        {
            "name": "carbon-projection",
            "kind": "budget_projection",
            "budget": "carbon",
            "thresholds": {"warning": 0.9, "critical": 1.0},
            **every,
        },
        {
            "name": "demand",
            "kind": "power",
            "window": "10s",
            "thresholds": {"critical": 1000},
            "clear": 950,
            "recipients": hook,
        },
        {"name": "silent", "kind": "silent", "thresholds": {"warning": 30}, "for": "5m", **every},
        {"name": "counter-reset", "kind": "counter_reset", "window": "15m", **every},
        {"name": "stuck", "kind": "stuck", "window": "15m", "for": "10m", **every},
        {
            "name": "completeness",
            "kind": "completeness",
            "window": "2h",
            "thresholds": {"warning": 0.9},
            "clear": 0.92,
            **every,
        },
    ]


# --- database -------------------------------------------------------------------------------


def create_database() -> str:
    name = f"ew_bench_alerting_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(url: str, now: datetime) -> None:
    """Registry and history, generated in the server (fast, and the same every run)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sites (code, name, kind, division_code, industry, energy_budget_tce, "
            "carbon_budget_tco2) SELECT 'E' || lpad(g::text, 4, '0'), 'Enterprise ' || g, "
            "'enterprise', '14' || lpad((g %% 100)::text, 4, '0'), 'coke', 400000, 1200000 "
            "FROM generate_series(0, %s - 1) g",
            (N_ENTERPRISES,),
        )
        conn.execute("INSERT INTO devices (site_id, code) SELECT id, 'D1' FROM sites")
        conn.execute(
            "INSERT INTO points (site_id, device_id, code, measure, unit, kind, role, product) "
            "SELECT d.site_id, d.id, v.code, v.measure, v.unit, v.kind, v.role, v.product "
            "FROM devices d CROSS JOIN (VALUES "
            "('E', 'electricity', 'kWh', 'cumulative', 'consumption', NULL), "
            "('C', 'washed_coal', 't', 'interval', 'consumption', NULL), "
            "('O', 'product', 't', 'interval', 'output', 'coke_top_charged'), "
            "('P', 'power', 'kW', 'instantaneous', 'consumption', NULL)) "
            "AS v(code, measure, unit, kind, role, product)"
        )
        conn.execute("UPDATE points SET created_at = %s - interval '2 days'", (now,))
        # A day of rollups: ~1 in 50 enterprises runs above the coke baseline level.
        conn.execute(
            """
            INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness)
            SELECT p.id, b,
                   CASE p.code WHEN 'O' THEN 10 ELSE 100 END,
                   CASE p.code WHEN 'C' THEN
                        CASE WHEN p.site_id %% 50 = 0 THEN 1.5 ELSE 1.0 END
                        WHEN 'E' THEN 0.0123 ELSE 0 END,
                   CASE p.code WHEN 'C' THEN 2.8 WHEN 'E' THEN 0.057 ELSE 0 END,
                   CASE WHEN p.site_id %% 40 = 0 THEN 0.5 ELSE 1.0 END
            FROM points p
            CROSS JOIN generate_series(date_bin('15 minutes', %(now)s::timestamptz,
                                                '2000-01-01 00:00+00') - interval '24 hours',
                                       %(now)s::timestamptz - interval '15 minutes',
                                       interval '15 minutes') b
            WHERE p.code IN ('E', 'C', 'O')
            """,
            {"now": now},
        )
        # The rollup computed that history earlier; only the last bucket is recent.
        conn.execute(
            "UPDATE consumption_15min SET computed_at = %s - interval '10 minutes' - (%s - bucket)",
            (now, now),
        )
        # An hour of readings at one a minute.
        conn.execute(
            """
            INSERT INTO readings (point_id, ts, value)
            SELECT p.id, %(now)s::timestamptz - make_interval(mins => m),
                   CASE p.code WHEN 'E' THEN 1e6 - m * 100 WHEN 'P' THEN 500 + (m %% 7)
                        ELSE 1 + (m %% 3) END
            FROM points p CROSS JOIN generate_series(1, 60) m
            """,
            {"now": now},
        )
        conn.execute("ANALYZE")


# --- 1. evaluation cycle --------------------------------------------------------------------


def cycle_times(url: str, now: datetime, n: int, step: Any, rules_dir: Path) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        evaluator = Evaluator(conn, RuleSource([rules_dir], LOOPBACK), step=step)
        first = evaluator.cycle(now)  # creates the alerts: not a steady-state cycle
        totals, kernels, reads = [], [], []
        for k in range(n):
            report = evaluator.cycle(now + timedelta(milliseconds=200 * (k + 1)))
            totals.append(report.seconds)
            kernels.append(report.kernel_seconds)
            reads.append(report.measure_seconds)
        open_alerts = conn.execute(
            "SELECT count(*) FROM alerts WHERE state IN ('pending', 'firing')"
        ).fetchone()
        conn.execute("TRUNCATE alerts CASCADE")
    return {
        "cycle_ms": 1000 * statistics.median(totals),
        "cycle_p99_ms": 1000 * float(np.percentile(totals, 99)),
        "step_ms": 1000 * statistics.median(kernels),
        "read_ms": 1000 * statistics.median(reads),
        "first_cycle_ms": 1000 * first.seconds,
        "subjects": float(first.subjects),
        "open_alerts": float(open_alerts[0] if open_alerts else 0),
    }


def event_cycles(url: str, now: datetime, n: int, rules_dir: Path) -> dict[str, Any]:
    """Evaluations of what k points' new readings feed, for k = 10, 100, 1,000 (the power
    points of k enterprises), and of k points' rewritten rollups (their enterprises' site
    rules): time, the part reading inputs, and both per changed point."""
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        evaluator = Evaluator(conn, RuleSource([rules_dir], LOOPBACK))
        evaluator.cycle(now)  # the sweep that opens the alerts; then steady state
        ids = [r[0] for r in conn.execute("SELECT id FROM points WHERE code = 'P' ORDER BY id")]
        energy = [r[0] for r in conn.execute("SELECT id FROM points WHERE code = 'C' ORDER BY id")]
        for k in (10, 100, 1000):
            # As a rollup pass would: the newest bucket of those points rewritten just now.
            conn.execute(
                "UPDATE consumption_15min SET computed_at = now() WHERE point_id = ANY(%s) "
                "AND bucket = (SELECT max(bucket) FROM consumption_15min)",
                (energy[:k],),
            )
            for label, changes in (
                ("readings", Changes(readings=set(ids[:k]))),
                ("rollups", Changes(rollups=set(energy[:k]))),
            ):
                totals, reads = [], []
                for j in range(n):
                    at = now + timedelta(milliseconds=200 * (j + 1))
                    report = evaluator.cycle(at, scope=changes)
                    totals.append(report.seconds)
                    reads.append(report.measure_seconds)
                total, read = statistics.median(totals), statistics.median(reads)
                out[f"{label}_{k}"] = {
                    "ms": round(1000 * total, 2),
                    "read_ms": round(1000 * read, 2),
                    "ms_per_changed_point": round(1000 * total / k, 4),
                    "read_ms_per_changed_point": round(1000 * read / k, 4),
                }
        conn.execute("TRUNCATE alerts CASCADE")
    return out


def kernel_only(n_elements: int, repeats: int) -> dict[str, float]:
    """The state step alone over n elements, numba against the plain-Python twin."""
    rng = np.random.default_rng(1)
    args = (
        rng.normal(100, 10, n_elements),
        np.tile([np.nan, 110.0, 130.0], (n_elements, 1)),
        np.full(n_elements, 105.0),
        np.ones(n_elements, np.int8),
        np.full(n_elements, 60_000, np.int64),
        np.zeros(n_elements, np.int8),
        rng.integers(0, 3, n_elements).astype(np.int8),
        np.ones(n_elements, np.int8),
        np.zeros(n_elements, np.int64),
        120_000,
    )
    step_states(*args)  # compile / load from cache
    fast, slow = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        step_states(*args)
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        step_states_reference(*args)
        slow.append(time.perf_counter() - t)
    return {"numba_ms": 1000 * statistics.median(fast), "python_ms": 1000 * statistics.median(slow)}


# --- 2. latency -----------------------------------------------------------------------------


class Hook:
    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.lock = threading.Lock()


@contextmanager
def webhook() -> Any:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with hook.lock:
                hook.received.setdefault(body["subject"], time.time())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hook, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def service(name: str, url: str, prefix: str, extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": url,
        "ENERGYWATCH_MQTT__HOST": MQTT_HOST,
        "ENERGYWATCH_MQTT__PORT": str(MQTT_PORT),
        "ENERGYWATCH_MQTT__TOPIC_PREFIX": prefix,
        "ENERGYWATCH_LOG_LEVEL": "WARNING",
        "ENERGYWATCH_INGEST__METRICS_PORT": str(_free_port()),
        "ENERGYWATCH_ALERTING__METRICS_PORT": str(_free_port()),
        **extra,
    }
    code = (
        f"from energywatch.settings import load_settings;"
        f"from services.{name}.command import run; run(load_settings())"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def background(
    client: mqtt.Client, prefix: str, rate: float, stop: threading.Event, sent: list[int]
) -> None:
    """~rate readings/s over the non-probe enterprises, 100 readings (25 instants x 4
    points) per message."""
    sites = [f"E{k:04d}" for k in range(N_QUIET, N_ENTERPRISES)]
    per_message = 100
    interval = per_message / rate
    next_at = time.monotonic()
    k = 0
    energy: dict[str, float] = {}
    while not stop.is_set():
        site = sites[k % len(sites)]
        k += 1
        base = time.time() - 0.5
        readings = []
        e = energy.get(site, 2e6)
        for j in range(per_message // 4):
            ts = _ts(base + j * 0.001)
            e += 1.0
            readings += [
                {"point": "E", "ts": ts, "v": e},
                {"point": "C", "ts": ts, "v": 1.0},
                {"point": "O", "ts": ts, "v": 2.0},
                {"point": "P", "ts": ts, "v": 500.0 + j},
            ]
        energy[site] = e
        client.publish(
            f"{prefix}/{site}/D1/readings", json.dumps({"seq": k, "readings": readings}), qos=1
        )
        sent[0] += per_message
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


# What the latency runs set; everything else keeps its default (listed in the JSON).
OVERRIDES = {
    "ENERGYWATCH_ALERTING__DEFAULT_RULES": "false",  # the benchmark's 10 rules only
    "ENERGYWATCH_ALERTING__WEBHOOK_SECRET": SECRET,
    # the benchmark's receiver listens on 127.0.0.1
    "ENERGYWATCH_ALERTING__WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
}
BASELINE = {"ENERGYWATCH_ALERTING__EVENTS": "false"}  # the timer-driven design


def latency_run(
    url: str, duration_s: float, rate: float, rules_dir_for: Any, events: bool, first_probe: int
) -> dict[str, Any]:
    prefix = f"ewbench/{uuid.uuid4().hex[:8]}"
    with webhook() as (hook, hook_url), tempfile.TemporaryDirectory() as tmp:
        rules_dir = rules_dir_for(Path(tmp), hook_url)
        ingest = service(
            "ingest",
            url,
            prefix,
            {
                "ENERGYWATCH_INGEST__CLIENT_ID": f"bench-ingest-{uuid.uuid4().hex[:8]}",
                "ENERGYWATCH_INGEST__SHARE_GROUP": f"bench{uuid.uuid4().hex[:8]}",
            },
        )
        metrics_port = _free_port()
        alerting = service(
            "alerting",
            url,
            prefix,
            {
                "ENERGYWATCH_ALERTING__METRICS_PORT": str(metrics_port),
                "ENERGYWATCH_ALERTING__RULES_DIR": str(rules_dir),
                **OVERRIDES,
                **({} if events else BASELINE),
            },
        )
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{prefix}")
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(1000)
        client.connect(MQTT_HOST, MQTT_PORT)
        client.loop_start()
        stop = threading.Event()
        sent = [0]
        stored: dict[str, float] = {}
        published: dict[str, float] = {}
        rss_kb = ingest_kb = pss_kb = one_kb = 0
        pss_at = 0.0
        try:
            # Steady state: each evaluation group has done its first sweep (which loads the
            # compiled state step, seconds on a busy machine), ingest has subscribed.
            deadline = time.monotonic() + 120
            for group in ("fast", "slow"):
                while not _runs(metrics_port, group, 1.0).get("sweep_evaluations_per_s"):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"alerting's {group} group did not sweep")
                    time.sleep(0.2)
            time.sleep(1.0)
            flow = threading.Thread(
                target=background, args=(client, prefix, rate, stop, sent), daemon=True
            )
            flow_started = time.monotonic()
            flow.start()
            time.sleep(1.5)  # let the flow settle before probing
            with psycopg.connect(url, autocommit=True) as conn:
                probes = [f"E{k:04d}" for k in range(first_probe, first_probe + N_PROBES)]
                next_probe = time.monotonic()
                end = time.monotonic() + duration_s
                while time.monotonic() < end + 2.0:
                    if probes and time.monotonic() >= next_probe and time.monotonic() < end:
                        site = probes.pop(0)
                        t = time.time()
                        published[f"point:{site}/P"] = t
                        client.publish(
                            f"{prefix}/{site}/D1/readings",
                            json.dumps(
                                {"seq": 1, "readings": [{"point": "P", "ts": _ts(t), "v": 1500.0}]}
                            ),
                            qos=1,
                        )
                        next_probe += 0.5
                    waiting = [s for s in published if s not in stored]
                    if waiting:
                        for (subject,) in conn.execute(
                            "SELECT subject FROM alerts WHERE rule = 'demand' "
                            "AND subject = ANY(%s)",
                            (waiting,),
                        ):
                            stored.setdefault(subject, time.time())
                    rss_kb = max(rss_kb, _tree_kb(alerting.pid, "VmHWM:"))
                    one_kb = max(one_kb, _largest_kb(alerting.pid, "VmHWM:"))
                    ingest_kb = max(ingest_kb, _tree_kb(ingest.pid, "VmHWM:"))
                    if time.monotonic() >= pss_at:  # smaps_rollup walks the page tables
                        pss_kb = max(pss_kb, _tree_pss_kb(alerting.pid))
                        pss_at = time.monotonic() + 0.5
                    time.sleep(0.01)
            stop.set()
            flow.join(5)
            flow_s = time.monotonic() - flow_started
            cycle_mean_ms = _mean_cycle_ms(metrics_port)
            runs = _runs(metrics_port, "fast", flow_s)
            slow_runs = _runs(metrics_port, "slow", flow_s)
            ingest_ok = ingest.poll() is None and alerting.poll() is None
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM readings WHERE ts > now() - make_interval(secs => %s)",
                    (flow_s + 5,),
                ).fetchone()
                ingested = int(row[0]) if row else 0
        finally:
            stop.set()
            client.loop_stop()
            client.disconnect()
            for proc in (alerting, ingest):
                proc.terminate()
            for proc in (alerting, ingest):
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        to_store = [stored[s] - published[s] for s in published if s in stored]
        to_hook = [hook.received[s] - published[s] for s in published if s in hook.received]
    return {
        "probes": len(published),
        "stored": len(to_store),
        "webhooks": len(to_hook),
        "store_p50_s": _pct(to_store, 50),
        "store_p99_s": _pct(to_store, 99),
        "webhook_p50_s": _pct(to_hook, 50),
        "webhook_p99_s": _pct(to_hook, 99),
        "offered_readings_per_s": sent[0] / flow_s,
        "ingested_readings_per_s": ingested / flow_s,
        "alerting_peak_rss_mb": rss_kb / 1024,
        "alerting_peak_pss_mb": pss_kb / 1024,
        "alerting_largest_process_peak_rss_mb": one_kb / 1024,
        "store_slowest_s": sorted(to_store)[-3:],
        "ingest_peak_rss_mb": ingest_kb / 1024,
        "cycle_mean_ms_under_flow": cycle_mean_ms,
        "fast_group": runs,
        "slow_group": slow_runs,
        "services_stayed_up": ingest_ok,
    }


def _mean_cycle_ms(port: int) -> float | None:
    """Mean cycle of the running service's fast group, from its Prometheus histogram."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        for name in ("_sum", "_count"):
            if line.startswith(f'energywatch_alerting_evaluation_seconds{name}{{group="fast"}} '):
                values[name] = float(line.split()[1])
    if not values.get("_count"):
        return None
    return round(1000 * values["_sum"] / values["_count"], 1)


def _runs(port: int, group: str, seconds: float) -> dict[str, Any]:
    """Evaluations per second by what started them, and for the event-driven ones the time
    and the time reading inputs (mostly database) per changed point, from the service's
    counters."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("energywatch_alerting_") and f'group="{group}"' in line:
            name = line.split("{")[0].removeprefix("energywatch_alerting_")
            run = line.split('run="')[1].split('"')[0] if 'run="' in line else ""
            found[f"{name}:{run}"] = float(line.split()[-1])
    out: dict[str, Any] = {}
    for run in ("event", "tick", "sweep"):
        n = found.get(f"evaluations_total:{run}", 0.0)
        out[f"{run}_evaluations_per_s"] = round(n / seconds, 2)
        if n:
            out[f"{run}_mean_ms"] = round(1000 * found[f"run_seconds_total:{run}"] / n, 2)
    changed = found.get("changed_points_total:", 0.0)
    if changed:
        out["changed_points_per_event"] = round(changed / found["evaluations_total:event"], 1)
        out["ms_per_changed_point"] = round(1000 * found["run_seconds_total:event"] / changed, 4)
        out["read_ms_per_changed_point"] = round(
            1000 * found["read_seconds_total:event"] / changed, 4
        )
    return out


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def _status_kb(pid: int, field: str) -> int:
    with suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _tree(pid: int) -> list[int]:
    pids = [pid]
    with suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as children:
        pids += [int(c) for c in children.read().split()]
    return pids


def _largest_kb(pid: int, field: str) -> int:
    """The largest of the tree's processes by `field`."""
    return max((_status_kb(p, field) for p in _tree(pid)), default=0)


def _tree_kb(pid: int, field: str) -> int:
    """The alerting process and its group processes: the sum of each one's peak RSS (an upper
    bound: forked processes share pages the sum counts twice)."""
    return sum(_status_kb(p, field) for p in _tree(pid))


def _tree_pss_kb(pid: int) -> int:
    """The process and its children: the sum of their proportional set sizes now (shared
    pages split between the processes sharing them: what the tree costs the machine)."""
    total = 0
    for p in _tree(pid):
        with suppress(OSError), open(f"/proc/{p}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def write_rules(directory: Path, hook_url: str, heavy_every: str | None) -> Path:
    path = directory / "rules"
    path.mkdir(exist_ok=True)
    (path / "bench.yaml").write_text(yaml.safe_dump({"rules": rules(hook_url, heavy_every)}))
    return path


def settings_used() -> dict[str, Any]:
    """The alerting and ingest settings the latency runs use: defaults, then the overrides."""
    defaults = Settings()
    alerting = defaults.alerting.model_dump(
        mode="json", exclude={"webhook_secret", "smtp_password"}
    )
    alerting.update(default_rules=False, webhook_allowed_networks=["127.0.0.0/8"])
    return {
        "alerting": alerting,
        "ingest": defaults.ingest.model_dump(mode="json", exclude={"password"}),
        "changed_from_defaults": {
            "alerting.default_rules": False,
            "alerting.webhook_allowed_networks": ["127.0.0.0/8"],
            "metrics ports, rules_dir, webhook_secret, topic prefix, client ids": "per run",
        },
        "baseline": {"alerting.events": False},
        "rules": "10 benchmark rules; site, quality and budget rules every 30s (slow group)",
    }


def under_flow(lat: dict[str, Any]) -> dict[str, Any]:
    """The flow, memory and evaluation figures of one latency run."""
    return {
        "offered_readings_per_s": round(lat["offered_readings_per_s"]),
        "ingested_readings_per_s": round(lat["ingested_readings_per_s"]),
        "alerting_peak_rss_mb": round(lat["alerting_peak_rss_mb"], 1),
        "alerting_peak_pss_mb": round(lat["alerting_peak_pss_mb"], 1),
        "alerting_largest_process_peak_rss_mb": round(
            lat["alerting_largest_process_peak_rss_mb"], 1
        ),
        "alert_stored_slowest_s": [round(x, 3) for x in lat["store_slowest_s"]],
        "ingest_peak_rss_mb": round(lat["ingest_peak_rss_mb"], 1),
        "fast_group": lat["fast_group"],
        "slow_group": lat["slow_group"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    args = parser.parse_args()
    cycles = 5 if args.quick else 30
    duration_s = 8.0 if args.quick else 30.0

    url = create_database()
    try:
        t = time.perf_counter()
        upgrade(url)
        now = datetime.now(UTC)
        populate(url, now)
        setup_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            rules_dir = write_rules(Path(tmp), "http://127.0.0.1:9/unused", None)
            numba = cycle_times(url, now, cycles, step_states, rules_dir)
            python = cycle_times(url, now, cycles, step_states_reference, rules_dir)
            event = event_cycles(url, now, cycles, rules_dir)
        kernel = kernel_only(int(numba["subjects"]), 5)
        print(f"setup {setup_s:.1f} s; {int(numba['subjects'])} (rule, subject) pairs")
        print(
            f"full cycle (sweep), numba step:  median {numba['cycle_ms']:.1f} ms (reading "
            f"inputs {numba['read_ms']:.1f} ms, step {numba['step_ms']:.2f} ms), first "
            f"{numba['first_cycle_ms']:.0f} ms; Python step: {python['cycle_ms']:.1f} ms"
        )
        for key, e in event.items():
            print(
                f"event evaluation, {key.replace('_', ' ')} changed: {e['ms']} ms "
                f"(reading inputs {e['read_ms']} ms), {e['ms_per_changed_point']} ms a point"
            )
        print(
            f"state step alone: numba {kernel['numba_ms']:.3f} ms, "
            f"Python {kernel['python_ms']:.1f} ms"
        )
        latency: dict[str, dict[str, Any]] = {}
        for design, events, first in (("events", True, 0), ("timer", False, N_PROBES)):
            latency[design] = lat = latency_run(
                url,
                duration_s,
                10_000.0,
                lambda d, hook: write_rules(d, hook, "30s"),
                events,
                first,
            )
            print(
                f"{design}: {lat['probes']} probes, stored p50 {lat['store_p50_s']} s p99 "
                f"{lat['store_p99_s']} s; webhook p50 {lat['webhook_p50_s']} s p99 "
                f"{lat['webhook_p99_s']} s; flow offered {lat['offered_readings_per_s']:.0f}/s "
                f"ingested {lat['ingested_readings_per_s']:.0f}/s; RSS alerting "
                f"{lat['alerting_peak_rss_mb']:.0f} MB, ingest {lat['ingest_peak_rss_mb']:.0f} MB;"
                f" fast {lat['fast_group']}; slow {lat['slow_group']}"
            )
    finally:
        drop_database(url)

    ev, timer = latency["events"], latency["timer"]
    figures = {
        "benchmark": "alerting",
        "quick": args.quick,
        "scaled_down": "probing 8 s per design (16 probes), 5 cycles" if args.quick else None,
        "enterprises": N_ENTERPRISES,
        "rules": 10,
        "subjects": int(numba["subjects"]),
        "settings": settings_used(),
        "full_cycle_ms_median": round(numba["cycle_ms"], 1),
        "full_cycle_read_inputs_ms_median": round(numba["read_ms"], 1),
        "full_cycle_ms_python_step": round(python["cycle_ms"], 1),
        "event_evaluation": event,
        "step_ms_numba": round(kernel["numba_ms"], 3),
        "step_ms_python": round(kernel["python_ms"], 2),
        "step_speedup_vs_python": round(kernel["python_ms"] / kernel["numba_ms"], 1),
        "open_alerts": int(numba["open_alerts"]),
        "latency_probes": ev["probes"],
        "alert_stored_p50_s": ev["store_p50_s"],
        "alert_stored_p99_s": ev["store_p99_s"],
        "webhook_p50_s": ev["webhook_p50_s"],
        "webhook_p99_s": ev["webhook_p99_s"],
        "baseline_timer_alert_stored_p50_s": timer["store_p50_s"],
        "baseline_timer_alert_stored_p99_s": timer["store_p99_s"],
        "baseline_timer_webhook_p50_s": timer["webhook_p50_s"],
        "baseline_timer_webhook_p99_s": timer["webhook_p99_s"],
        "webhook_p99_ratio_timer_to_events": (
            round(timer["webhook_p99_s"] / ev["webhook_p99_s"], 1)
            if timer["webhook_p99_s"] and ev["webhook_p99_s"]
            else None
        ),
        **under_flow(ev),
        "baseline_timer": under_flow(timer),
        "services_stayed_up": ev["services_stayed_up"] and timer["services_stayed_up"],
        "targets": {
            "alert_stored_p99_s": 1.0,
            "webhook_p99_s": 1.0,
            "rss_mb_per_process": 500,
            "alerting_pss_mb": 500,
        },
    }
    figures["targets_met"] = bool(
        ev["store_p99_s"] is not None
        and ev["store_p99_s"] <= 1.0
        and ev["webhook_p99_s"] is not None
        and ev["webhook_p99_s"] <= 1.0
        and ev["stored"] == ev["probes"]
        and ev["webhooks"] == ev["probes"]
        # Each process within 500 MB (alerting is one process since its slow group became a
        # thread; its PSS, lower than its RSS by the library pages other processes share, is
        # checked too, as for a tree of processes).
        and ev["alerting_largest_process_peak_rss_mb"] <= 500
        and ev["alerting_peak_pss_mb"] <= 500
        and ev["ingest_peak_rss_mb"] <= 500
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
