"""The edge agent: drivers read into the durable queue, the publisher empties it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Sequence

from edge.config import (
    Dlt645DriverConfig,
    DriverConfig,
    EdgeConfig,
    Hj212DriverConfig,
    ModbusDriverConfig,
    SimulatorDriverConfig,
)
from edge.drivers.base import Driver
from edge.metrics import EdgeMetrics
from edge.publisher import Publisher
from edge.queue import DurableQueue
from edge.reading_checks import ReadingChecks
from edge.readings import EdgeReading

log = logging.getLogger("edge.agent")

DRIVER_RESTART_S = 5.0


class EdgeAgent:
    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.metrics = EdgeMetrics()
        self.checks = ReadingChecks(config.device_clock_ahead_s)
        q = config.queue
        self.queue = DurableQueue(q.path, q.capacity_readings, q.synchronous)
        self.metrics.watch_queue(self.queue)
        self.publisher = Publisher(config, self.queue, self.metrics)
        self.drivers: list[Driver] = [self._build(d) for d in config.drivers]
        self._thread: threading.Thread | None = None
        self._drop_logged_at = -math.inf

    def _build(self, d: DriverConfig) -> Driver:
        # Drivers are imported only when configured: a station box never loads pymodbus.
        tz = self.config.tz
        if isinstance(d, SimulatorDriverConfig):
            from edge.drivers.simulator import SimulatorDriver

            return SimulatorDriver(d, self.sink, tz)
        if isinstance(d, ModbusDriverConfig):
            from edge.drivers.modbus import ModbusDriver

            return ModbusDriver(d, self.sink, self.metrics)
        if isinstance(d, Dlt645DriverConfig):
            from edge.drivers.dlt645 import Dlt645Driver

            return Dlt645Driver(d, self.sink, self.metrics)
        if isinstance(d, Hj212DriverConfig):
            from edge.drivers.hj212 import Hj212Driver

            return Hj212Driver(d, self.sink, self.metrics, tz, self.checks)
        raise TypeError(f"unknown driver config {d!r}")

    def sink(self, driver: str, readings: Sequence[EdgeReading]) -> None:
        """Commit readings to disk as soon as they are read; a reading the publisher could not
        send (a year-0 timestamp, a NaN) is refused here, before it can block the queue."""
        good = []
        for r in readings:
            refusal = self.checks.refusal(r)
            if refusal is None:
                good.append(r)
            else:
                self.metrics.refuse(driver, *refusal)
        if not good:
            return
        result = self.queue.append(good)
        self.metrics.readings_read.labels(driver=driver).inc(result.stored)
        if not (result.dropped or result.disk_full):
            return
        if time.monotonic() - self._drop_logged_at > 60:
            self._drop_logged_at = time.monotonic()
            dropped = self.queue.dropped_by_reason
            if result.disk_full:
                log.error(
                    "disk full: readings are not stored; %d dropped so far",
                    dropped["disk_full"],
                )
            else:
                log.warning(
                    "queue full (%d readings): dropping the oldest; %d dropped so far",
                    self.queue.capacity,
                    dropped["capacity"],
                )

    def start_publisher(self) -> None:
        self._thread = threading.Thread(
            target=self.publisher.run, name="edge-publisher", daemon=True
        )
        self._thread.start()

    async def run(self, stop: asyncio.Event) -> None:
        """Run drivers and publisher until `stop` is set; then shut down cleanly."""
        self.start_publisher()
        tasks = [asyncio.create_task(self._supervise(d), name=d.name) for d in self.drivers]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await asyncio.to_thread(self.close)

    def close(self) -> None:
        self.publisher.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.queue.close()

    async def _supervise(self, driver: Driver) -> None:
        """A driver that crashes is logged and restarted: the agent stays up."""
        while True:
            try:
                await driver.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "driver %s failed; restarting in %.0f s", driver.name, DRIVER_RESTART_S
                )
                self.metrics.device_errors.labels(driver=driver.name).inc()
                await asyncio.sleep(DRIVER_RESTART_S)
