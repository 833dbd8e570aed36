"""Mutated HJ 212 packets into the real listener and mutated DL/T 645 replies into the real
driver: no crash, no hang, memory flat, and every packet or reply either gives readings or is
counted (a refusal with its reason, or a device error). ENERGYWATCH_TEST_FUZZ_FRAMES sets the
count of each (100,000 for the long run quoted in docs/edge.md)."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from benchmarks.support.field_devices import serving
from edge.config import Dlt645DriverConfig
from edge.drivers.dlt645 import Dlt645Driver
from edge.metrics import EdgeMetrics
from tests.integration.edge.fuzz_frames import dlt645_replies, hj212_packets
from tests.integration.edge.hj212_packets import listener_port, station_config
from tests.integration.edge.meter_sim import MeterBase, frame, meter_driver
from tests.integration.edge.support import collecting, running_agent
from tests.support.services import BrokerAddress

FRAMES = int(os.environ.get("ENERGYWATCH_TEST_FUZZ_FRAMES", "10000"))
RSS_GROWTH_LIMIT_MB = 20.0


def refusals(metrics: EdgeMetrics, driver: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for metric in metrics.frames_refused.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["driver"] == driver:
                out[sample.labels["reason"]] = int(sample.value)
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_mutated_hj212_packets_are_each_published_or_refused(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    points = [{"point": "SO2", "code": "a21026", "cn": 2011}]
    config = station_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, points)
    silent: list[int] = []
    lost_intact: list[int] = []
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        port = listener_port(agent)
        m = agent.metrics
        read = m.readings_read.labels(driver="hj212")
        rss_early = 0.0
        published = 0

        def drain() -> int:
            # The collector would otherwise hold every message and hide the agent's memory.
            with col.lock:
                n = sum(len(message.readings) for message in col.messages)
                col.messages.clear()
            return n

        for i, (expect, raw) in enumerate(hj212_packets(seed=1, n=FRAMES)):
            before = (read._value.get(), m.refused("hj212"))
            # One connection per packet: when the listener closes it, the packet is handled.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(raw)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(4096):
                    pass
            got = read._value.get() - before[0]
            if got == 0 and m.refused("hj212") == before[1]:
                silent.append(i)
            if expect is not None and got != expect:
                lost_intact.append(i)
            if i % 1000 == 0:
                published += drain()
            if i == FRAMES // 10:
                rss_early = rss_mb()
        total = read._value.get()
        col.wait_for(lambda: agent.queue.depth == 0, timeout=120)
        growth = rss_mb() - rss_early
        published += drain()
        # Figures for docs/edge.md (shown with -s).
        print(f"\nhj212: {FRAMES} packets, {total:.0f} readings queued, {published} published,")
        print(f"RSS +{growth:.1f} MB")
        print(f"hj212 refusals: {refusals(m, 'hj212')}")
    assert not silent, f"packets neither queued nor refused: {silent[:10]}"
    assert not lost_intact, f"intact packets lost: {lost_intact[:10]}"
    assert published >= total > FRAMES // 8  # all queued were published; intact ones at least
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew {growth:.1f} MB"


class FuzzedMeter(MeterBase):
    """Answers each read with the next fuzzed reply. After a reply that may leave the driver
    waiting, it mostly hangs up (the driver sees the end of the stream at once), and one time
    in ten stays silent so that the driver's timeout is run too, without 10,000 of them."""

    replies: ClassVar[Iterator[tuple[bool, bytes]]] = iter(())
    rng: ClassVar[random.Random] = random.Random(3)
    lock: ClassVar[threading.Lock] = threading.Lock()

    def answer(self, request: bytes, control: int, data: bytes) -> bytes:
        if control != 0x11:
            return frame(0xD2, b"\x01")  # a follow-up asked by a fuzzed 0xB1: error reply
        with FuzzedMeter.lock:
            may_wait, reply = next(FuzzedMeter.replies)
            hang_up = may_wait and FuzzedMeter.rng.random() < 0.9
        if hang_up:
            self.request.sendall(reply)
            self.request.shutdown(socket.SHUT_RDWR)
            return b""
        return reply


def test_mutated_dlt645_replies_are_each_read_refused_or_counted() -> None:
    FuzzedMeter.replies = dlt645_replies(seed=2)
    with serving(FuzzedMeter) as port:
        raw = meter_driver(port, {"U_A": "02010100"})
        config = Dlt645DriverConfig.model_validate({**raw, "timeout_s": 0.05})
        metrics = EdgeMetrics()
        driver = Dlt645Driver(config, lambda name, readings: None, metrics)
        group = [(config.meters[0], config.meters[0].points[0])]
        errors = metrics.device_errors.labels(driver="dlt645")
        ts = datetime.now(UTC)

        async def fuzz() -> tuple[list[int], int, float]:
            silent, values, rss_early = [], 0, 0.0
            for i in range(FRAMES):
                before = (metrics.refused("dlt645"), errors._value.get())
                readings = await driver.read(group, ts)
                values += len(readings)
                if not readings and before == (metrics.refused("dlt645"), errors._value.get()):
                    silent.append(i)
                if i == FRAMES // 10:
                    rss_early = rss_mb()
            await driver.close()
            return silent, values, rss_mb() - rss_early

        started = time.monotonic()
        silent, values, growth = asyncio.run(fuzz())
        elapsed = time.monotonic() - started
        failed = errors._value.get()
        print(f"\ndlt645: {FRAMES} replies, {values} read, {failed:.0f} device errors,")
        print(f"RSS +{growth:.1f} MB, {elapsed:.0f} s; refusals: {refusals(metrics, 'dlt645')}")
    assert not silent, f"replies neither read nor counted: {silent[:10]}"
    assert values >= FRAMES // 8
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew {growth:.1f} MB"
    assert elapsed < FRAMES * 0.05, "reads took longer than a timeout each"
