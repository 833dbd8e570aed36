"""Edge agent benchmark: disk per queued reading, replay rate after an outage, peak RSS.

    .venv/bin/python benchmarks/edge.py --quick

1. Disk: 200 points x N minutes appended to the durable queue (one commit per poll of all
   points, as the drivers do) with the default `queue.synchronous` (full: the WAL is synced
   at every commit); bytes of the SQLite pages in use / readings; the append rate with
   synchronous=normal beside it. Baseline: the obvious table a first version would write,
   (point TEXT, ts TEXT ISO 8601, v REAL, q INTEGER), in the same WAL mode and synchronous
   setting, same commits.
2. Replay: a queue holding the readings of an outage is published to the real local broker
   (127.0.0.1:1883, or ENERGYWATCH_TEST_MQTT) by the agent's publisher, with a subscriber
   receiving everything, until the queue is empty (every message PUBACKed, its rows deleted).
   Baseline: a raw paho loop publishing the same pre-encoded payloads with QoS 1 and waiting
   for the PUBACKs (no queue, no encoding, no deletes).
3. Peak RSS (VmHWM) of the agent process with 200 points (150 simulated, 20 Modbus,
   20 DL/T 645, 10 HJ 212), every one delivering readings: a Modbus TCP server, DL/T 645
   meters behind a serial-to-TCP converter and an HJ 212 logger run here
   (benchmarks/support/field_devices.py); measured a few seconds after the last point's first
   reading reached the broker (`rss_points_delivering` says how many did). Baseline: the bare
   interpreter.

The last line printed is one JSON object. The machine is shared and has 2 cores: the
figures are noisy; medians of the repetitions are quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.support.field_devices import dlt645_meters, hj212_logger, modbus_server  # noqa: E402
from edge.config import EdgeConfig  # noqa: E402
from edge.encoding import encode_readings  # noqa: E402
from edge.metrics import EdgeMetrics  # noqa: E402
from edge.publisher import Publisher  # noqa: E402
from edge.queue import DurableQueue, QueuedReading  # noqa: E402
from edge.readings import EdgeReading  # noqa: E402
from services.demo.broker import free_port  # noqa: E402

POINTS = [f"SX-TY-0001.E{i:03d}" for i in range(200)]
HJ_MN, HJ_PASSWORD = "88888880000001", "123456"
HJ_CODES = [f"a{i:05d}" for i in range(10)]
_PUBLISH = EdgeConfig.model_fields["publish"].default  # the agent's defaults, as users run it
REPLAY_BATCH, REPLAY_WINDOW = _PUBLISH.batch_max_readings, _PUBLISH.inflight_window
DEFAULT_SYNC = EdgeConfig.model_fields["queue"].default.synchronous  # what users run
T0_MS = 1_795_104_000_000


def broker() -> tuple[str, int]:
    spec = os.environ.get("ENERGYWATCH_TEST_MQTT", "127.0.0.1:1883")
    host, _, port = spec.rpartition(":")
    return host or "127.0.0.1", int(port)


def poll_batches(minutes: int) -> list[list[EdgeReading]]:
    return [
        [
            EdgeReading(p, T0_MS + m * 60_000, 123_456.78 + m * 1.37 + i)
            for i, p in enumerate(POINTS)
        ]
        for m in range(minutes)
    ]


# -- 1. disk --------------------------------------------------------------------------------


def disk_per_reading(workdir: Path, minutes: int) -> dict[str, float]:
    batches = poll_batches(minutes)
    n = sum(len(b) for b in batches)

    q = DurableQueue(workdir / "queue.sqlite", capacity=10_000_000, synchronous=DEFAULT_SYNC)
    t = time.perf_counter()
    for b in batches:
        q.append(b)
    queue_s = time.perf_counter() - t
    queue_bytes = q.disk_bytes() / n
    q.close()

    normal = DurableQueue(workdir / "normal.sqlite", capacity=10_000_000, synchronous="normal")
    t = time.perf_counter()
    for b in batches:
        normal.append(b)
    normal_per_s = n / (time.perf_counter() - t)
    normal.close()

    db = sqlite3.connect(workdir / "naive.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={DEFAULT_SYNC.upper()}")
    db.execute("CREATE TABLE readings (point TEXT, ts TEXT, v REAL, q INTEGER)")
    t = time.perf_counter()
    for b in batches:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO readings VALUES (?, ?, ?, ?)",
            [
                (r.point, datetime.fromtimestamp(r.ts_ms / 1000, UTC).isoformat(), r.value, 0)
                for r in b
            ],
        )
        db.execute("COMMIT")
    naive_s = time.perf_counter() - t
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    naive_bytes = pages * page / n
    db.close()
    return {
        "readings": n,
        "queue_bytes_per_reading": queue_bytes,
        "naive_bytes_per_reading": naive_bytes,
        "queue_append_per_s": n / queue_s,
        "queue_append_normal_sync_per_s": normal_per_s,
        "naive_insert_per_s": n / naive_s,
    }


# -- 2. replay ------------------------------------------------------------------------------


SEQ = re.compile(rb'"seq":\s*(\d+)')
POINT = re.compile(rb'"point":\s*"([^"]+)"')


class Counter:
    """Stands for ingest: counts the readings and confirms each message on its ack topic."""

    def __init__(self, host: str, port: int, prefix: str, track_points: bool = False) -> None:
        self.readings = 0
        self.points: set[str] | None = set() if track_points else None
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{uuid.uuid4().hex[:6]}"
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not ready.wait(10):
            raise RuntimeError("subscriber did not subscribe")

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/readings"):
            # Counting readings without parsing: each one carries exactly one "point" key.
            with self.lock:
                self.readings += msg.payload.count(b'"point"')
                if self.points is not None:
                    self.points.update(m.decode() for m in POINT.findall(msg.payload))
            # Confirm as ingest does after its commit (the agent deletes only then).
            seq = SEQ.search(msg.payload)
            if seq:
                ack = msg.topic.removesuffix("/readings") + "/ack"
                c.publish(ack, b'{"committed": [' + seq[1] + b"]}", qos=1)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.readings < n and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def replay_once(workdir: Path, minutes: int, batch: int, window: int) -> dict[str, float]:
    host, port = broker()
    prefix = f"ewbench/{uuid.uuid4().hex[:8]}"
    config = EdgeConfig.model_validate(
        {
            "site": "SX-TY-0001",
            "device": "gw1",
            "mqtt": {"host": host, "port": port, "topic_prefix": prefix},
            "queue": {"path": str(workdir / f"replay-{prefix[-8:]}.sqlite")},
            "publish": {"batch_max_readings": batch, "inflight_window": window},
            "drivers": [{"kind": "simulator", "points": [{"point": "X", "profile": "gas_m3"}]}],
        }
    )
    queue = DurableQueue(config.queue.path, 10_000_000, config.queue.synchronous)
    for b in poll_batches(minutes):  # the outage: readings queued while nobody listened
        queue.append(b)
    n = queue.depth
    counter = Counter(host, port, prefix)
    publisher = Publisher(config, queue, EdgeMetrics())
    thread = threading.Thread(target=publisher.run, daemon=True)
    t = time.perf_counter()
    thread.start()
    while queue.depth > 0 and time.perf_counter() - t < 120:
        time.sleep(0.002)
    acked_s = time.perf_counter() - t
    counter.wait_for(n)
    delivered_s = time.perf_counter() - t
    publisher.stop()
    thread.join(15)
    received = counter.readings
    counter.close()
    queue.close()

    # Baseline: the same payloads through a bare paho loop, QoS 1, waiting for every PUBACK.
    payloads = []
    flat = [r for b in poll_batches(minutes) for r in b]
    for i in range(0, len(flat), batch):
        chunk = [
            QueuedReading(i + j, r.point, r.ts_ms, r.value, 0)
            for j, r in enumerate(flat[i : i + batch])
        ]
        payloads.append(encode_readings(i, True, chunk, config.tz))
    raw_prefix = f"ewbench/{uuid.uuid4().hex[:8]}"
    counter = Counter(host, port, raw_prefix)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(window)
    acked = [0]
    client.on_publish = lambda c, u, mid, rc, p: acked.__setitem__(0, acked[0] + 1)
    client.connect(host, port)
    client.loop_start()
    t = time.perf_counter()
    for p in payloads:
        client.publish(f"{raw_prefix}/SX-TY-0001/gw1/readings", p, qos=1)
    while acked[0] < len(payloads) and time.perf_counter() - t < 120:
        time.sleep(0.002)
    raw_acked_s = time.perf_counter() - t
    counter.wait_for(n)
    raw_delivered_s = time.perf_counter() - t
    client.disconnect()
    client.loop_stop()
    counter.close()
    return {
        "readings": n,
        "received": received,
        "replay_acked_per_s": n / acked_s,
        "replay_delivered_per_s": n / delivered_s,
        "raw_acked_per_s": n / raw_acked_s,
        "raw_delivered_per_s": n / raw_delivered_s,
    }


# -- 3. RSS ---------------------------------------------------------------------------------


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def agent_rss(workdir: Path, seconds: float) -> dict[str, float]:
    """Peak RSS of the agent with 200 points on four drivers, every one delivering readings
    from a field device (simulated ones here), measured `seconds` after all have delivered."""
    with (
        modbus_server(registers=40) as modbus_port,
        dlt645_meters() as dlt_port,
    ):
        hj_port = free_port()
        with hj212_logger(hj_port, HJ_MN, HJ_PASSWORD, HJ_CODES, interval_s=1.0):
            return _agent_rss(workdir, seconds, modbus_port, dlt_port, hj_port)


def _agent_rss(
    workdir: Path, seconds: float, modbus_port: int, dlt_port: int, hj_port: int
) -> dict[str, float]:
    host, port = broker()
    config = {
        "site": "SX-TY-0001",
        "device": "gw-rss",
        "mqtt": {"host": host, "port": port, "topic_prefix": f"ewbench/{uuid.uuid4().hex[:8]}"},
        "queue": {"path": str(workdir / "rss.sqlite")},
        "drivers": [
            {
                "kind": "simulator",
                "points": [
                    {"point": f"S{i:03d}", "profile": "electricity_kwh", "interval_s": 0.2}
                    for i in range(150)
                ],
            },
            {
                "kind": "modbus",
                "host": "127.0.0.1",
                "port": modbus_port,
                "points": [
                    {"point": f"M{i:02d}", "address": 2 * i, "type": "float32", "interval_s": 1}
                    for i in range(20)
                ],
            },
            {
                "kind": "dlt645",
                "host": "127.0.0.1",
                "port": dlt_port,
                "meters": [
                    {
                        "address": f"{i:012d}",
                        "points": [
                            {"point": f"D{i:02d}", "identifier": "00010000", "interval_s": 1}
                        ],
                    }
                    for i in range(20)
                ],
            },
            {
                "kind": "hj212",
                "listen_host": "127.0.0.1",
                "listen_port": hj_port,
                "loggers": [
                    {
                        "mn": HJ_MN,
                        "password": HJ_PASSWORD,
                        "points": [
                            {"point": f"H{i:02d}", "code": code} for i, code in enumerate(HJ_CODES)
                        ],
                    }
                ],
            },
        ],
    }
    path = workdir / "rss.yaml"
    path.write_text(yaml.safe_dump(config))
    prefix = config["mqtt"]["topic_prefix"]  # type: ignore[index]
    counter = Counter(host, port, prefix, track_points=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", str(path)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(counter.points or ()) < len(POINTS) and time.monotonic() < deadline:
        time.sleep(0.1)
    delivering = len(counter.points or ())
    time.sleep(seconds)  # every point delivering, for a while
    agent_mb = vm_hwm_mb(proc.pid)
    proc.terminate()
    proc.wait(30)
    counter.close()
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    time.sleep(0.5)
    bare_mb = vm_hwm_mb(bare.pid)
    bare.wait()
    return {
        "agent_peak_rss_mb": agent_mb,
        "bare_python_rss_mb": bare_mb,
        "points_delivering": delivering,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute")
    args = parser.parse_args()
    minutes = 250 if args.quick else 1500  # x 200 points: 50,000 or 300,000 readings
    reps = 3 if args.quick else 5
    rss_seconds = 4.0 if args.quick else 10.0

    with tempfile.TemporaryDirectory(prefix="ew-bench-edge-") as tmp:
        work = Path(tmp)
        disk = disk_per_reading(work, minutes)
        print(
            f"disk: {disk['queue_bytes_per_reading']:.1f} B/reading "
            f"(naive table {disk['naive_bytes_per_reading']:.1f}); append "
            f"{disk['queue_append_per_s']:,.0f}/s "
            f"(naive insert {disk['naive_insert_per_s']:,.0f}/s)"
        )
        runs = []
        for i in range(reps):
            r = replay_once(work, minutes, batch=REPLAY_BATCH, window=REPLAY_WINDOW)
            runs.append(r)
            print(
                f"replay {i + 1}: {r['readings']:,} readings, "
                f"acked {r['replay_acked_per_s']:,.0f}/s, "
                f"delivered {r['replay_delivered_per_s']:,.0f}/s; raw paho acked "
                f"{r['raw_acked_per_s']:,.0f}/s (received {r['received']:,})"
            )
        rss = agent_rss(work, rss_seconds)
        print(
            f"agent peak RSS with 200 points: {rss['agent_peak_rss_mb']:.1f} MB "
            f"(bare interpreter {rss['bare_python_rss_mb']:.1f} MB)"
        )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    result = {
        "benchmark": "edge",
        "quick": args.quick,
        "settings": {
            "points": len(POINTS),
            "minutes_queued": minutes,
            "replays": reps,
            "queue_synchronous": DEFAULT_SYNC,
            "publish_batch_max_readings": REPLAY_BATCH,
            "publish_inflight_window": REPLAY_WINDOW,
            "rss_seconds": rss_seconds,
            "broker": "{}:{}".format(*broker()),
        },
        "readings_per_replay": runs[0]["readings"],
        "all_received": all(r["received"] >= r["readings"] for r in runs),
        "queue_bytes_per_reading": round(disk["queue_bytes_per_reading"], 1),
        "naive_bytes_per_reading": round(disk["naive_bytes_per_reading"], 1),
        "bytes_ratio_to_naive": round(
            disk["queue_bytes_per_reading"] / disk["naive_bytes_per_reading"], 3
        ),
        "queue_append_per_s": round(disk["queue_append_per_s"]),
        "queue_append_normal_sync_per_s": round(disk["queue_append_normal_sync_per_s"]),
        "append_ratio_to_naive_insert": round(
            disk["queue_append_per_s"] / disk["naive_insert_per_s"], 2
        ),
        "replay_acked_per_s_median": round(med("replay_acked_per_s")),
        "replay_delivered_per_s_median": round(med("replay_delivered_per_s")),
        "raw_paho_acked_per_s_median": round(med("raw_acked_per_s")),
        "replay_ratio_to_raw_paho": round(med("replay_acked_per_s") / med("raw_acked_per_s"), 3),
        "agent_peak_rss_mb": round(rss["agent_peak_rss_mb"], 1),
        "rss_points_delivering": rss["points_delivering"],
        "bare_python_rss_mb": round(rss["bare_python_rss_mb"], 1),
        "rss_ratio_to_bare_python": round(rss["agent_peak_rss_mb"] / rss["bare_python_rss_mb"], 2),
        "targets_met": {
            "bytes_per_reading_le_100": disk["queue_bytes_per_reading"] <= 100,
            "replay_ge_20000_per_s": med("replay_acked_per_s") >= 20_000,
            "rss_le_80_mb": rss["agent_peak_rss_mb"] <= 80,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
