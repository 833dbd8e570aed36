"""DL/T 645-2007 driver: meters on an RS-485 bus behind a serial-to-TCP converter.

One request at a time on the bus: send a read, wait for its reply frame (or time out), next.
A reply that announces follow-up frames (C = 0xB1) is completed with follow-up reads
(C = 0x12) before its value is decoded. Bytes before the reply (wake-up bytes, a converter's
echo of the request, padding, noise) are skipped by looking for a frame that checks out.
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
from edge.log_limit import RateLimitedLog
from edge.metrics import EdgeMetrics
from edge.readings import EdgeReading, to_ms

log = logging.getLogger("edge.dlt645")

MAX_FRAME = 4 + 10 + 255 + 2  # wake-up bytes, header, the largest DATA, CS and end
# Noise kept while looking for a frame; beyond it the oldest bytes are dropped.
MAX_BUFFER = 4 * MAX_FRAME
MAX_FOLLOW_UPS = 32


class Dlt645Driver:
    def __init__(self, config: Dlt645DriverConfig, sink: Sink, metrics: EdgeMetrics) -> None:
        self.name = config.name
        self.config = config
        self.sink = sink
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._buf = b""  # bytes read and not yet taken as a frame
        self._warn = RateLimitedLog(log)

    async def run(self) -> None:
        pairs = [(m, p) for m in self.config.meters for p in m.points]
        groups = group_by_interval(pairs, lambda mp: mp[1].interval_s)
        try:
            async with asyncio.TaskGroup() as tg:
                for interval, group in groups.items():
                    tg.create_task(every(interval, self._ticker(group)))
        finally:
            await self.close()

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
        try:
            data = await asyncio.wait_for(
                self._exchange(stream, address, di), self.config.timeout_s
            )
            return codec.decode_value(data, codec.value_format(di))
        except FrameError as exc:
            self.metrics.refuse(self.name, exc.reason, f"meter {address} {di:08X}: {exc.detail}")
            await self.close()  # unknown bytes may still be on the line: start afresh
        except codec.MeterError as exc:
            self._warn.warning(
                f"{address}:{di:08X}:error", "%s: %s (identifier %08X)", self.name, exc, di
            )
            self.metrics.device_errors.labels(driver=self.name).inc()
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            self._warn.warning(
                f"{address}:silent", "%s: meter %s %08X: no reply (%r)", self.name, address, di, exc
            )
            self.metrics.device_errors.labels(driver=self.name).inc()
            await self.close()
        return None

    async def _exchange(
        self, stream: tuple[asyncio.StreamReader, asyncio.StreamWriter], address: str, di: int
    ) -> bytes:
        """Read `di` and any follow-up frames; the data bytes after the identifier."""
        reader, writer = stream
        wakeup = self.config.wakeup
        writer.write(codec.encode_read(address, di, wakeup))
        await writer.drain()
        frame = await self._reply(reader, address)
        data = codec.reply_data(frame, di)
        seq = 0
        while frame.has_follow_up:
            seq += 1
            if seq > MAX_FOLLOW_UPS:
                raise FrameError("follow_up", f"more than {MAX_FOLLOW_UPS} follow-up frames")
            writer.write(codec.encode_read_follow_up(address, di, seq, wakeup))
            await writer.drain()
            frame = await self._reply(reader, address)
            data += codec.reply_data(frame, di, codec.READ_FOLLOW_UP, seq)
        return data

    async def _reply(self, reader: asyncio.StreamReader, address: str) -> codec.Frame:
        """The next reply frame from the meter; frames that are not replies (a converter
        echoing the request) are skipped."""
        while True:
            frame = await self._next_frame(reader)
            if not frame.is_reply:
                continue
            if "A" not in address and frame.address != address:
                raise FrameError("address", f"reply from {frame.address}, asked {address}")
            return frame

    async def _next_frame(self, reader: asyncio.StreamReader) -> codec.Frame:
        while True:
            frame, used = codec.find_frame(self._buf)
            self._buf = self._buf[used:]
            if frame is not None:
                return frame
            if len(self._buf) > MAX_BUFFER:
                self._buf = self._buf[-MAX_FRAME:]
            chunk = await reader.read(256)
            if not chunk:
                raise asyncio.IncompleteReadError(self._buf, None)
            self._buf += chunk

    async def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self._stream is not None:
            return self._stream
        c = self.config
        try:
            self._stream = await asyncio.wait_for(
                asyncio.open_connection(c.host, c.port), c.timeout_s
            )
        except (OSError, TimeoutError) as exc:
            self._warn.warning(
                "connect", "%s: cannot connect to %s:%s: %s", self.name, c.host, c.port, exc
            )
            self.metrics.device_errors.labels(driver=self.name).inc()
            return None
        return self._stream

    async def close(self) -> None:
        """Drop the connection (the next read opens a new one)."""
        if self._stream is None:
            return
        _, writer = self._stream
        self._stream = None
        self._buf = b""
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
