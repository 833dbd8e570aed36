"""End-to-end ingest throughput and latency, against two baselines measured in the same run.

    .venv/bin/python benchmarks/ingest.py --quick     # under a minute
    .venv/bin/python benchmarks/ingest.py             # longer phases

Publisher processes -> a real Mosquitto (a private one, started here with a queue deep enough
for the backlog; the system broker's default of 1,000 queued messages per session would drop
messages once publishers run ahead) -> `python -m services.ingest` (a separate process, default
settings) -> the local PostgreSQL with durable commits (synchronous_commit on, checked).

Phases, each in a fresh database migrated to head:
1. saturate: the publishers send N readings as fast as they can (500 readings per message, as
   the edge agent does); figure: N / (last commit - first publish); the median of --repeat
   runs (3), each in a fresh database.
2. latency: the publishers offer a fixed rate (the 50,000 readings/s target); figure: p50/p99
   of each reading's publish-to-commit latency, measured, not read off histogram buckets:
   every reading is stamped with its message's publish time (each publisher keeps the times
   of its messages), and ingest confirms every message on its device's ack topic after the
   commit (`CommitAck`); a listener here notes when each confirmation arrives. The 500
   readings of a message share its latency. The saturation runs report the same figures.
3. COPY ceiling: the same number of rows, encoded beforehand, binary-COPYed straight into
   readings in batches of the ingest batch size, one commit per batch, on one connection with
   the machine to itself; median of --repeat runs.
4. naive: one INSERT ... ON CONFLICT DO NOTHING per reading, one commit per message.
Ingest's peak RSS is VmHWM of its process. The last line printed is one JSON object.

The machine has 2 cores shared by the publishers, the broker, ingest and PostgreSQL (and by
other work): figures are noisy; compare medians. Cores used per kind of process are counted
from the first publish to the last commit.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.databases import create_database, drop_database  # noqa: E402
from benchmarks.support.network import start_mosquitto  # noqa: E402
from benchmarks.support.registry_rows import add_device, add_site  # noqa: E402
from energywatch.settings import IngestSettings  # noqa: E402
from energywatch.storage.engine import make_engine  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from services.demo.broker import free_port  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "bench/v1"
POINTS_PER_DEVICE = 100
TS_PER_MESSAGE = 5  # 100 points x 5 timestamps = 500 readings per message
PER_MESSAGE = POINTS_PER_DEVICE * TS_PER_MESSAGE
TARGET_RATE = 50_000
BATCH = IngestSettings().batch_max_readings  # used by the COPY ceiling too
WRITERS = IngestSettings().writers
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds


# --- publishers (child processes) -------------------------------------------------------------


def _message(seq: int, codes: list[str], now_us: int, value: float) -> bytes:
    parts = []
    for j in range(TS_PER_MESSAGE):
        ts = datetime.fromtimestamp((now_us + j) / 1e6, UTC).isoformat()
        for code in codes:
            parts.append(f'{{"point":"{code}","ts":"{ts}","v":{value + j},"q":0}}')
    return f'{{"seq":{seq},"readings":[{",".join(parts)}]}}'.encode()


def publisher(
    port: int,
    topics: list[str],
    n_messages: int,
    rate_msgs: float | None,
    start_at: float,
    release: Any,
    times_path: str,
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    codes = [f"P{i:03d}" for i in range(POINTS_PER_DEVICE)]
    last_us = [0] * len(topics)
    while time.time() < start_at:
        time.sleep(0.001)
    t0 = time.monotonic()
    infos = []
    sent: list[tuple[str, int, int]] = []  # (topic, seq, publish time in µs)
    for k in range(n_messages):
        if rate_msgs:
            due = t0 + k / rate_msgs
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
        d = k % len(topics)
        now_us = max(time.time_ns() // 1000, last_us[d] + TS_PER_MESSAGE)
        last_us[d] = now_us
        sent.append((topics[d], k, now_us))
        infos.append(client.publish(topics[d], _message(k, codes, now_us, float(k)), qos=1))
    for info in infos:
        info.wait_for_publish(timeout=300)
    Path(times_path).write_text(json.dumps(sent))
    client.disconnect()
    client.loop_stop()
    release.wait(600)  # stay alive until the parent has read our CPU time


# --- CPU accounting ---------------------------------------------------------------------------


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of every process now, labelled by what it is."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if "services.ingest" in cmd:
            label = "ingest"
        elif "postgres" in cmd:
            label = "postgres"
        elif "mosquitto" in cmd:
            label = "mosquitto"
        elif "multiprocessing" in cmd:
            label = "publishers"
        else:
            label = "other"
        out[int(entry.name)] = (label, seconds)
    return out


def cpu_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], wall: float
) -> dict[str, float]:
    """Cores used per kind of process over `wall` seconds (processes alive at the end)."""
    used: dict[str, float] = {}
    for pid, (label, seconds) in after.items():
        used[label] = used.get(label, 0.0) + seconds - before.get(pid, (label, 0.0))[1]
    return {label: round(s / wall, 2) for label, s in sorted(used.items())}


# --- the ingest process -----------------------------------------------------------------------


class Ingest:
    def __init__(self, db_url: str, broker_port: int) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "ENERGYWATCH_DEMO": "1",
                "ENERGYWATCH_LOG_LEVEL": "WARNING",
                "ENERGYWATCH_DATABASE__URL": db_url,
                "ENERGYWATCH_MQTT__PORT": str(broker_port),
                "ENERGYWATCH_MQTT__TOPIC_PREFIX": PREFIX,
                "ENERGYWATCH_INGEST__CLIENT_ID": f"bench-{uuid.uuid4().hex[:8]}",
                "ENERGYWATCH_INGEST__METRICS_PORT": str(self.port),
            }
        )
        cmd = [sys.executable, "-m", "services.ingest"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env)
        self.profiler: subprocess.Popen[bytes] | None = None
        if out := os.environ.get("ENERGYWATCH_BENCH_PROFILE"):  # py-spy, sampling ~10 s
            spy = str(Path(sys.executable).parent / "py-spy")
            self.profiler = subprocess.Popen(
                [spy, "record", "--pid", str(self.proc.pid), "-d", "12", "-r", "100",
                 "-f", "raw", "-o", out, "--nonblocking", "--idle", "--threads"]
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while self.metrics().get("ingest_mqtt_connected") != 1.0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("ingest did not start")
            time.sleep(0.1)

    def metrics(self) -> dict[str, float]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def stored(self) -> float:
        return self.metrics().get("ingest_readings_stored_total", 0.0)

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS:")

    def _status_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.profiler is not None:
            self.profiler.wait(60)
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def merged_metrics(workers: list[Ingest]) -> dict[str, float]:
    """Counters and histogram buckets summed over the workers."""
    total: dict[str, float] = {}
    for worker in workers:
        for name, value in worker.metrics().items():
            total[name] = total.get(name, 0.0) + value
    return total


class CommitListener:
    """When each message's commit confirmation (`CommitAck`) arrives, by (readings topic, seq)."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.confirmed: dict[tuple[str, int], int] = {}  # -> arrival, µs since the epoch
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{PREFIX}/+/+/ack", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("the commit listener did not subscribe")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        now_us = time.time_ns() // 1000
        topic = msg.topic.removesuffix("/ack") + "/readings"
        for seq in json.loads(msg.payload)["committed"]:
            self.confirmed.setdefault((topic, int(seq)), now_us)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def latencies_ms(sent: list[tuple[str, int, int]], confirmed: dict[tuple[str, int], int]) -> Any:
    """Publish-to-commit latency of every confirmed message (ms); its readings share it."""
    return np.array(
        [(confirmed[(t, k)] - us) / 1000 for t, k, us in sent if (t, k) in confirmed],
        dtype=np.float64,
    )


# --- setup ------------------------------------------------------------------------------------


def fresh_database(n_devices: int) -> tuple[str, list[str], list[int]]:
    topics: list[str] = []
    point_ids: list[int] = []
    url = create_database(PG_URL, f"ew_bench_{uuid.uuid4().hex[:10]}")
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for d in range(n_devices):
            site = add_site(conn, f"S{d:03d}")
            ids = add_device(conn, site, "GW", [f"P{i:03d}" for i in range(POINTS_PER_DEVICE)])
            point_ids.extend(ids.values())
            topics.append(f"{PREFIX}/S{d:03d}/GW/readings")
    engine.dispose()
    with psycopg.connect(url) as conn:
        if ff := os.environ.get("ENERGYWATCH_BENCH_DIRTY_FILLFACTOR"):
            conn.execute(f"ALTER TABLE dirty_buckets SET (fillfactor = {int(ff)})")
            conn.commit()
        row = conn.execute("SHOW synchronous_commit").fetchone()
        assert row and row[0] == "on", "durable commits required"
    return url, topics, point_ids


def run_publishers(
    port: int,
    topics: list[str],
    n_publishers: int,
    n_messages: int,
    rate_msgs: float | None,
    times_dir: str,
) -> float:
    """Start the publishers together; returns the wall time they start at. Each writes the
    publish times of its messages to `times_dir`/<n>.json when done."""
    ctx = mp.get_context("spawn")
    start_at = time.time() + 1.5
    per = n_messages // n_publishers
    procs = []
    release = ctx.Event()
    for p in range(n_publishers):
        mine = topics[p::n_publishers]
        rate = rate_msgs / n_publishers if rate_msgs else None
        times = f"{times_dir}/{p}.json"
        procs.append(
            ctx.Process(target=publisher, args=(port, mine, per, rate, start_at, release, times))
        )
    for proc in procs:
        proc.start()
    run_publishers.procs = procs  # type: ignore[attr-defined]
    run_publishers.release = release  # type: ignore[attr-defined]
    return start_at


def join_publishers() -> None:
    run_publishers.release.set()  # type: ignore[attr-defined]
    for proc in run_publishers.procs:  # type: ignore[attr-defined]
        proc.join()


# --- phases -----------------------------------------------------------------------------------


def phase_ingest(
    port: int,
    n_devices: int,
    n_publishers: int,
    n_readings: int,
    rate: float | None,
    n_workers: int = 1,
) -> dict[str, Any]:
    url, topics, _ = fresh_database(n_devices)
    workers = [Ingest(url, port) for _ in range(n_workers)]
    listener = CommitListener(port)
    times_dir = tempfile.mkdtemp(prefix="ew-bench-ingest-")
    try:
        n_messages = n_readings // PER_MESSAGE
        n_messages -= n_messages % n_publishers
        expected = n_messages * PER_MESSAGE
        started = run_publishers(
            port, topics, n_publishers, n_messages, rate / PER_MESSAGE if rate else None, times_dir
        )
        # CPU from the first publish on (not the publishers' start-up and imports)
        time.sleep(max(0.0, started - time.time()))
        cpu_before = cpu_by_process()
        deadline = time.time() + 600
        rss_series: list[float] = []
        inflight_series: list[float] = []
        while sum(w.stored() for w in workers) < expected and time.time() < deadline:
            time.sleep(0.2)
            if len(rss_series) < (time.time() - started) / 5:  # every 5 s
                rss_series.append(round(max(w.rss_mb() for w in workers)))
                inflight_series.append(
                    max(w.metrics().get("ingest_inflight_messages", 0) for w in workers)
                )
        finished = time.time()
        cpu = cpu_delta(cpu_before, cpu_by_process(), finished - started)
        join_publishers()
        after = merged_metrics(workers)
        sent = [
            (topic, seq, us)
            for f in sorted(Path(times_dir).iterdir())
            for topic, seq, us in json.loads(f.read_text())
        ]
        wait_s = time.monotonic() + 10  # the last confirmations are on their way
        while len(listener.confirmed) < len(sent) and time.monotonic() < wait_s:
            time.sleep(0.05)
        latency = latencies_ms(sent, listener.confirmed)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM readings").fetchone()
            rows = int(row[0]) if row else 0
        return {
            "readings": expected,
            "rows": rows,
            "readings_per_s": expected / (finished - started),
            "p50_latency_ms": float(np.percentile(latency, 50)) if latency.size else math.nan,
            "p99_latency_ms": float(np.percentile(latency, 99)) if latency.size else math.nan,
            "messages_confirmed": f"{latency.size} of {len(sent)}",
            "peak_rss_mb": max(w.peak_rss_mb() for w in workers),
            "rss_mb_every_5s": rss_series,
            "inflight_every_5s": inflight_series,
            "cores_used": cpu,
            "writer_busy_share": after.get("ingest_commit_seconds_sum", 0)
            / (finished - started)
            / (n_workers * WRITERS),
            "mean_batch": after.get("ingest_batch_readings_sum", 0)
            / max(after.get("ingest_batch_readings_count", 1), 1),
        }
    finally:
        listener.close()
        shutil.rmtree(times_dir, ignore_errors=True)
        for worker in workers:
            worker.stop()
        drop_database(PG_URL, url)


def encode_copy(point_ids: np.ndarray, ts_us: np.ndarray, values: np.ndarray) -> bytes:
    """Binary COPY data for (point_id, ts, value, quality), built with NumPy."""
    row = np.dtype(
        [("n", ">i2"), ("l1", ">i4"), ("p", ">i4"), ("l2", ">i4"), ("t", ">i8"),
         ("l3", ">i4"), ("v", ">f8"), ("l4", ">i4"), ("q", ">i2")]
    )  # fmt: skip
    rows = np.empty(len(point_ids), dtype=row)
    rows["n"], rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 4, 4, 8, 8, 2
    rows["p"], rows["t"], rows["v"], rows["q"] = point_ids, ts_us - PG_EPOCH_US, values, 0
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    return header + rows.tobytes() + struct.pack(">h", -1)


def same_rows(point_ids: list[int], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows shaped like the published stream: per device message, 100 points x 5 timestamps."""
    pids = np.asarray(point_ids, dtype=np.int32)
    n_dev = len(pids) // POINTS_PER_DEVICE
    k = np.arange(n)
    message = k // PER_MESSAGE
    within = k % PER_MESSAGE
    device = message % n_dev
    p = pids[device * POINTS_PER_DEVICE + within % POINTS_PER_DEVICE]
    ts = 1_763_600_000_000_000 + message * 1000 + within // POINTS_PER_DEVICE
    return p, ts.astype(np.int64), (message + within // POINTS_PER_DEVICE).astype(np.float64)


def phase_copy_ceiling(n_devices: int, n_readings: int) -> dict[str, Any]:
    url, _, point_ids = fresh_database(n_devices)
    try:
        p, ts, v = same_rows(point_ids, n_readings)
        chunks = [encode_copy(p[i : i + BATCH], ts[i : i + BATCH], v[i : i + BATCH])
                  for i in range(0, n_readings, BATCH)]  # fmt: skip
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            for chunk in chunks:
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        "COPY readings (point_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.write(chunk)
                conn.commit()
            elapsed = time.perf_counter() - started
            row = conn.execute("SELECT count(*) FROM readings").fetchone()
            assert row and row[0] == n_readings
        return {"readings": n_readings, "readings_per_s": n_readings / elapsed}
    finally:
        drop_database(PG_URL, url)


def phase_naive(n_devices: int, seconds: float) -> dict[str, Any]:
    url, _, point_ids = fresh_database(n_devices)
    try:
        p, ts, v = same_rows(point_ids, 2_000_000)
        stamps = [datetime.fromtimestamp(t / 1e6, UTC) for t in ts[:200_000].tolist()]
        done = 0
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            while time.perf_counter() - started < seconds and done + PER_MESSAGE <= len(stamps):
                for i in range(done, done + PER_MESSAGE):
                    conn.execute(
                        "INSERT INTO readings (point_id, ts, value, quality)"
                        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (int(p[i]), stamps[i], float(v[i]), 0),
                    )
                conn.commit()
                done += PER_MESSAGE
            elapsed = time.perf_counter() - started
        return {"readings": done, "readings_per_s": done / elapsed}
    finally:
        drop_database(PG_URL, url)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (the lower middle one of an even number)."""
    return sorted(runs, key=lambda r: r["readings_per_s"])[(len(runs) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, under a minute")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--saturate-only", action="store_true", help="for profiling")
    parser.add_argument("--readings", type=int, help="readings in the saturation phase")
    parser.add_argument("--workers", type=int, default=1, help="ingest processes (shared sub)")
    parser.add_argument("--repeat", type=int, default=3, help="saturation and ceiling runs")
    args = parser.parse_args()
    n_saturate = args.readings or (1_000_000 if args.quick else 3_000_000)
    latency_s = 4 if args.quick else 30
    naive_s = 2 if args.quick else 10

    load_before = round(os.getloadavg()[0], 1)  # other work on the machine
    with start_mosquitto("/usr/sbin/mosquitto") as broker:
        runs = []
        for _ in range(args.repeat):
            runs.append(
                phase_ingest(
                    broker.port, args.devices, args.publishers, n_saturate, None, args.workers
                )
            )
            print(f"saturate: {json.dumps(runs[-1])}", flush=True)
        saturate = median_run(runs)
        if args.saturate_only:
            return
        latency = phase_ingest(
            broker.port,
            args.devices,
            args.publishers,
            int(TARGET_RATE * latency_s),
            TARGET_RATE,
            args.workers,
        )
        print(f"latency at {TARGET_RATE}/s: {json.dumps(latency)}", flush=True)
    ceilings = []
    for _ in range(args.repeat):
        ceilings.append(phase_copy_ceiling(args.devices, n_saturate))
        print(f"copy ceiling: {json.dumps(ceilings[-1])}", flush=True)
    ceiling = median_run(ceilings)
    naive = phase_naive(args.devices, naive_s)
    print(f"naive: {json.dumps(naive)}", flush=True)

    result = {
        "benchmark": "ingest",
        "quick": args.quick,
        "settings": {
            "ingest": "defaults (IngestSettings()), ENERGYWATCH_DEMO=1, log level WARNING",
            "ingest_batch_max_readings": BATCH,
            "ingest_writers": WRITERS,
            "workers": args.workers,
            "publishers": args.publishers,
            "devices": args.devices,
            "readings_per_message": PER_MESSAGE,
            "saturate_readings": n_saturate,
            "latency_offered_per_s": TARGET_RATE,
            "latency_phase_s": latency_s,
            "repeat": args.repeat,
            "broker": "private mosquitto, max_queued_messages 1000000",
            "synchronous_commit": "on",
            "latency_from": "publish time of each message to its CommitAck on the ack topic",
        },
        "readings_per_s": round(saturate["readings_per_s"]),
        "readings_per_s_runs": [round(r["readings_per_s"]) for r in runs],
        "copy_ceiling_per_s_runs": [round(r["readings_per_s"]) for r in ceilings],
        "rows_exact": saturate["rows"] == saturate["readings"]
        and latency["rows"] == latency["readings"],
        "p50_latency_ms_at_50k": round(latency["p50_latency_ms"], 1),
        "p99_latency_ms_at_50k": round(latency["p99_latency_ms"], 1),
        "messages_confirmed_at_50k": latency["messages_confirmed"],
        "offered_50k_achieved_per_s": round(latency["readings_per_s"]),
        "p50_latency_ms_saturated": round(saturate["p50_latency_ms"], 1),
        "p99_latency_ms_saturated": round(saturate["p99_latency_ms"], 1),
        "copy_ceiling_per_s": round(ceiling["readings_per_s"]),
        "naive_insert_per_s": round(naive["readings_per_s"]),
        "ratio_to_copy_ceiling": round(saturate["readings_per_s"] / ceiling["readings_per_s"], 3),
        "ratio_to_naive": round(saturate["readings_per_s"] / naive["readings_per_s"], 1),
        "peak_rss_mb": round(max(saturate["peak_rss_mb"], latency["peak_rss_mb"]), 1),
        "mean_batch": round(saturate["mean_batch"]),
        "target_readings_per_s": TARGET_RATE,
        "workers": args.workers,
        "cores_used_saturated": saturate["cores_used"],
        "loadavg_1min_before": load_before,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
