"""DL/T 645-2007 driver: meters on an RS-485 bus behind a serial-to-TCP converter.

One request at a time on the bus: send a read, wait for one reply frame (or time out), next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from edge.codecs import FrameError
from edge.codecs import dlt645 as codec
from edge.config import Dlt645DriverConfig, Dlt645MeterConfig, Dlt645PointConfig
from edge.drivers.base import Sink, every, group_by_interval
from edge.metrics import EdgeMetrics
from edge.readings import EdgeReading, to_ms

log = logging.getLogger("edge.dlt645")

MAX_FRAME = 4 + 10 + 255 + 2  # wake-up bytes, header, the largest DATA, CS and end


class Dlt645Driver:
    def __init__(self, config: Dlt645DriverConfig, sink: Sink, metrics: EdgeMetrics) -> None:
        self.name = config.name
        self.config = config
        self.sink = sink
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def run(self) -> None:
        pairs = [(m, p) for m in self.config.meters for p in m.points]
        groups = group_by_interval(pairs, lambda mp: mp[1].interval_s)
        try:
            async with asyncio.TaskGroup() as tg:
                for interval, group in groups.items():
                    tg.create_task(every(interval, self._ticker(group)))
        finally:
            await self._close()

    def _ticker(
        self, group: list[tuple[Dlt645MeterConfig, Dlt645PointConfig]]
    ) -> Callable[[datetime], Awaitable[None]]:
        async def tick(ts: datetime) -> None:
            readings = await self.read(group, ts)
            if readings:
                self.sink(self.name, readings)

        return tick

    async def read(
        self, group: list[tuple[Dlt645MeterConfig, Dlt645PointConfig]], ts: datetime
    ) -> list[EdgeReading]:
        ms = to_ms(ts)
        out = []
        async with self._lock:
            for meter, point in group:
                value = await self._read_one(meter.address, int(point.identifier, 16))
                if value is not None:
                    out.append(EdgeReading(point.point, ms, value * point.scale))
        return out

    async def _read_one(self, address: str, di: int) -> float | None:
        stream = await self._connected()
        if stream is None:
            return None
        reader, writer = stream
        try:
            writer.write(codec.encode_read(address, di, wakeup=self.config.wakeup))
            await writer.drain()
            raw = await asyncio.wait_for(_read_frame(reader), self.config.timeout_s)
            frame = codec.decode_frame(raw)
            if "A" not in address and frame.address != address:
                raise FrameError("address", f"reply from {frame.address}, asked {address}")
            return codec.parse_read_reply(frame, di)
        except FrameError as exc:
            self.metrics.refuse(self.name, exc.reason, f"meter {address} {di:08X}: {exc.detail}")
            await self._close()  # unknown bytes may still be on the line: start afresh
        except codec.MeterError as exc:
            log.warning("%s: %s (identifier %08X)", self.name, exc, di)
            self.metrics.device_errors.labels(driver=self.name).inc()
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            log.warning("%s: meter %s %08X: no reply (%r)", self.name, address, di, exc)
            self.metrics.device_errors.labels(driver=self.name).inc()
            await self._close()
        return None

    async def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self._stream is not None:
            return self._stream
        c = self.config
        try:
            self._stream = await asyncio.wait_for(
                asyncio.open_connection(c.host, c.port), c.timeout_s
            )
        except (OSError, TimeoutError) as exc:
            log.warning("%s: cannot connect to %s:%s: %s", self.name, c.host, c.port, exc)
            self.metrics.device_errors.labels(driver=self.name).inc()
            return None
        return self._stream

    async def _close(self) -> None:
        if self._stream is None:
            return
        _, writer = self._stream
        self._stream = None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    """Read one frame (wake-up bytes included) from the stream."""
    buf = b""
    while True:
        total = codec.frame_length(buf)
        if total is not None:
            return buf[:total]
        if len(buf) > MAX_FRAME:
            raise FrameError("length", f"no frame end after {len(buf)} bytes")
        chunk = await reader.read(256)
        if not chunk:
            raise asyncio.IncompleteReadError(buf, None)
        buf += chunk
