"""Helpers for the edge integration tests: a subscriber, configs, the agent in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import EdgeAgent
from edge.config import EdgeConfig
from energywatch.protocol import CommitAck, ReadingsMessage, StatusMessage
from tests.support.waiting import wait_until


@dataclass
class Collector:
    """Subscribes to everything under a prefix, validates each message against the contract and
    confirms each readings message on its device's ack topic, as ingest does."""

    messages: list[ReadingsMessage] = field(default_factory=list)
    statuses: list[StatusMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def readings(self) -> list[tuple[str, str, float, int, bool]]:
        with self.lock:
            return [
                (r.point, r.ts.isoformat(), r.v, int(r.q), m.backfill)
                for m in self.messages
                for r in m.readings
            ]

    def unique(self) -> dict[tuple[str, str], tuple[float, int, bool]]:
        """First occurrence of each (point, ts): what ingest would store."""
        out: dict[tuple[str, str], tuple[float, int, bool]] = {}
        for point, ts, v, q, backfill in self.readings():
            out.setdefault((point, ts), (v, q, backfill))
        return out

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 20.0, poll_s: float = 0.05
    ) -> None:
        wait_until(
            predicate,
            timeout,
            "the subscriber's condition",
            poll_s,
            detail=lambda: f"have {len(self.readings())} readings",
        )


@contextmanager
def collecting(host: str, port: int, prefix: str, confirm: bool = True) -> Iterator[Collector]:
    """`confirm=False` where a real ingest runs and confirms what it commits."""
    with collecting_with(host, port, prefix, None, confirm) as col:
        yield col


@contextmanager
def collecting_with(
    host: str,
    port: int,
    prefix: str,
    credentials: tuple[str, str] | None,
    confirm: bool = True,
) -> Iterator[Collector]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    if credentials:
        client.username_pw_set(*credentials)
    with _subscribed(client, host, port, prefix, confirm) as col:
        yield col


def edge_config(
    tmp_path: Path, host: str, port: int, prefix: str, drivers: list[dict[str, Any]], **extra: Any
) -> EdgeConfig:
    raw: dict[str, Any] = {
        "site": "S1",
        "device": "gw1",
        "mqtt": {"host": host, "port": port, "topic_prefix": prefix},
        "queue": {"path": str(tmp_path / "queue.sqlite")},
        "publish": {"reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
        "drivers": drivers,
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return EdgeConfig.model_validate(raw)


def write_yaml(path: Path, config: EdgeConfig) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(json.loads(config.model_dump_json())))
    return path


class AgentThread:
    """The agent on its own event loop in a thread; `stop()` shuts it down cleanly."""

    def __init__(self, config: EdgeConfig) -> None:
        self.agent = EdgeAgent(config)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._stopped = False

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self.agent.run(self._stop))
        except BaseException as exc:
            self._errors.append(exc)
        finally:
            self._loop.close()

    def start(self) -> EdgeAgent:
        self._thread.start()
        return self.agent

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "agent did not stop"
        assert not self._errors, self._errors


@contextmanager
def running_agent(config: EdgeConfig) -> Iterator[EdgeAgent]:
    runner = AgentThread(config)
    try:
        yield runner.start()
    finally:
        runner.stop()


class PrivateBroker:
    """A Mosquitto of the test's own whose sessions survive a restart (same port, same
    persistence dir); it can be stopped cleanly or killed with -9."""

    def __init__(self, port: int, datadir: Path) -> None:
        import getpass

        self.port = port
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        datadir.mkdir(parents=True, exist_ok=True)
        self.conf = datadir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {datadir}/\nmax_queued_messages 1000000\n"
            "max_inflight_messages 100\n"
            # Run as root, mosquitto would drop to user "mosquitto" and could not write its
            # persistence file in our directory; stay the user we are.
            f"user {getpass.getuser()}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateBroker:
        from benchmarks.support.network import wait_listening

        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_listening(self.proc, self.port)
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()  # saves its persistence file on the way out
        self.proc.wait(timeout=10)


@contextmanager
def persistent_mosquitto(port: int, datadir: Path) -> Iterator[None]:
    broker = PrivateBroker(port, datadir).start()
    try:
        yield
    finally:
        broker.stop()


@contextmanager
def durable_collector(host: str, port: int, prefix: str, client_id: str) -> Iterator[Collector]:
    """Like `collecting`, with a persistent session: messages queue at the broker while the
    subscriber is away (e.g. during a broker restart)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.reconnect_delay_set(1, 1)
    with _subscribed(client, host, port, prefix, confirm=True) as col:
        yield col


def queue_totals(path: Path) -> tuple[int, int]:
    """(readings ever appended, readings still queued) of an agent's queue file."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
        left = db.execute("SELECT count(*) FROM readings").fetchone()[0]
    return (int(row[0]) if row else 0), int(left)


def assert_in_order_per_point(col: Collector) -> None:
    """First occurrences of each (point, ts), in arrival order, are in time order per point."""
    seen: set[tuple[str, str]] = set()
    last: dict[str, str] = {}
    for point, ts, *_ in col.readings():
        if (point, ts) in seen:
            continue
        seen.add((point, ts))
        assert ts > last.get(point, ""), f"{point}: {ts} arrived after {last[point]}"
        last[point] = ts


@contextmanager
def _subscribed(
    client: mqtt.Client, host: str, port: int, prefix: str, confirm: bool
) -> Iterator[Collector]:
    """Connect `client`, subscribe to everything under `prefix`, collect what arrives."""
    col = Collector()
    subscribed = threading.Event()

    def on_connect(c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
        c.subscribe(f"{prefix}/#", qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: Any, rcs: Any, p: Any) -> None:
        subscribed.set()

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        with col.lock:
            if msg.topic.endswith("/readings"):
                message = ReadingsMessage.model_validate_json(msg.payload)
                col.messages.append(message)
                if confirm:  # as ingest does after its commit, so the agent empties its queue
                    ack = msg.topic.removesuffix("/readings") + "/ack"
                    c.publish(ack, CommitAck(committed=[message.seq]).model_dump_json(), qos=1)
            elif msg.topic.endswith("/status"):
                col.statuses.append(StatusMessage.model_validate_json(msg.payload))

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(host, port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "subscriber did not subscribe"
        yield col
    finally:
        client.disconnect()
        client.loop_stop()
