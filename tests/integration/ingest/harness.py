"""Running the ingest service as a real process and feeding it through a real broker."""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from services.demo.broker import free_port
from tests.support.processes import end_tree, start_tree
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]


class IngestProcess:
    """`python -m services.ingest` with its settings in ENERGYWATCH_* variables."""

    def __init__(self, db_url: str, broker: BrokerAddress, prefix: str, **ingest: object) -> None:
        self.metrics_port = free_port()
        self.env = dict(os.environ)
        self.env.update(
            {
                "ENERGYWATCH_DEMO": "1",
                "ENERGYWATCH_DATABASE__URL": db_url,
                "ENERGYWATCH_MQTT__HOST": broker.host,
                "ENERGYWATCH_MQTT__PORT": str(broker.port),
                "ENERGYWATCH_MQTT__TOPIC_PREFIX": prefix,
                "ENERGYWATCH_INGEST__CLIENT_ID": f"ingest-test-{uuid.uuid4().hex[:10]}",
                "ENERGYWATCH_INGEST__METRICS_PORT": str(self.metrics_port),
                "ENERGYWATCH_INGEST__SESSION_EXPIRY_S": "120",
                "ENERGYWATCH_INGEST__RECONNECT_MIN_S": "0.2",
                "ENERGYWATCH_INGEST__RECONNECT_MAX_S": "2",
            }
        )
        for key, value in ingest.items():
            self.env[f"ENERGYWATCH_INGEST__{key.upper()}"] = str(value)
        fd, name = tempfile.mkstemp(prefix="ingest-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        # Read by tests after the process ends (output()), so removed when the run ends.
        atexit.register(self.log_path.unlink, missing_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        """Start the process (again, with the same client id and so the same session)."""
        with self.log_path.open("ab") as log:
            self.proc = start_tree(
                [sys.executable, "-m", "services.ingest"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: self.metric("ingest_mqtt_connected") == 1.0, 30, "ingest to subscribe")
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        end_tree(self.proc)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        end_tree(self.proc)  # whatever it left behind
        return int(self.proc.returncode)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return {}
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def metric(self, name: str) -> float | None:
        return self.metrics().get(name)


def readings_payload(seq: int, readings: Iterable[dict[str, Any]]) -> bytes:
    return json.dumps({"seq": seq, "readings": list(readings)}).encode()


def stream(
    points: list[str], n_messages: int, per_message: int, start: datetime | None = None
) -> list[bytes]:
    """Messages of `per_message` readings each, one reading per point and minute, all distinct."""
    start = start or datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    out = []
    k = 0
    for seq in range(n_messages):
        batch = []
        for _ in range(per_message):
            point = points[k % len(points)]
            ts = start + timedelta(minutes=k // len(points))
            batch.append({"point": point, "ts": ts.isoformat(), "v": float(k), "q": 0})
            k += 1
        out.append(readings_payload(seq, batch))
    return out


class Publisher:
    """A QoS 1 publisher that waits for every PUBACK."""

    def __init__(self, broker: BrokerAddress) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(100)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payloads: Iterable[bytes], pause_s: float = 0.0) -> None:
        infos = []
        for payload in payloads:
            infos.append(self.client.publish(topic, payload, qos=1))
            if pause_s:
                time.sleep(pause_s)
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class BackgroundPublish:
    """Publish a stream from a thread, paced, while the test does something else."""

    def __init__(self, broker: BrokerAddress, topic: str, payloads: list[bytes], pause_s: float):
        self.publisher = Publisher(broker)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(topic, payloads, pause_s))
        self.thread.start()

    def _run(self, topic: str, payloads: list[bytes], pause_s: float) -> None:
        try:
            self.publisher.publish(topic, payloads, pause_s)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = 120) -> None:
        self.thread.join(timeout)
        self.publisher.close()
        assert not self.thread.is_alive(), "publisher did not finish"
        if self.error:
            raise self.error


def count(db_url: str, sql: str = "SELECT count(*) FROM readings") -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0
