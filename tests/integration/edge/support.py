"""Helpers for the edge integration tests: a subscriber, configs, the agent in a thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
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
from energywatch.protocol import ReadingsMessage, StatusMessage


@dataclass
class Collector:
    """Subscribes to everything under a prefix and validates each message against the contract."""

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

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; have {len(self.readings())} readings")
            time.sleep(0.05)


@contextmanager
def collecting(host: str, port: int, prefix: str) -> Iterator[Collector]:
    col = Collector()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")

    def on_connect(c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
        c.subscribe(f"{prefix}/#", qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: Any, rcs: Any, p: Any) -> None:
        subscribed.set()

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        with col.lock:
            if msg.topic.endswith("/readings"):
                col.messages.append(ReadingsMessage.model_validate_json(msg.payload))
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


@contextmanager
def running_agent(config: EdgeConfig) -> Iterator[EdgeAgent]:
    """The agent on its own event loop in a thread, stopped cleanly at the end."""
    agent = EdgeAgent(config)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            loop.run_until_complete(agent.run(stop))
        except BaseException as exc:
            errors.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        assert not thread.is_alive(), "agent did not stop"
        assert not errors, errors
