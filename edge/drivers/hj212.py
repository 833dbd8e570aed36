"""HJ 212-2017 driver: a TCP listener for the data loggers of monitoring stations.

Loggers connect and upload packets; each data upload (CN 2011 real-time, 2051 minute,
2061 hourly, 2031 daily) becomes readings of the configured points, committed to the queue
before the data reply (CN 9014) is sent when the packet's Flag asks for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from datetime import timezone

from edge.codecs import FrameError
from edge.codecs import hj212 as codec
from edge.config import Hj212DriverConfig, Hj212LoggerConfig
from edge.drivers.base import Sink
from edge.metrics import EdgeMetrics
from edge.readings import EdgeReading, to_ms
from energywatch.protocol import Quality

log = logging.getLogger("edge.hj212")

MAX_PACKET = 6 + codec.MAX_SEGMENT + 4 + 2

# Flag of a value: N valid; S manual; F, M, D, C, T, B invalid (fault, maintenance, ...).
FLAG_QUALITY = {
    "N": Quality.GOOD,
    "S": Quality.MANUAL,
    **{f: Quality.INVALID for f in "FMDCTB"},
}


def flag_quality(flag: str | None) -> Quality:
    if flag is None:
        return Quality.GOOD
    return FLAG_QUALITY.get(flag, Quality.SUSPECT)


class Hj212Driver:
    def __init__(
        self, config: Hj212DriverConfig, sink: Sink, metrics: EdgeMetrics, tz: timezone
    ) -> None:
        self.name = config.name
        self.config = config
        self.sink = sink
        self.metrics = metrics
        self.tz = tz
        self.loggers = {lg.mn: lg for lg in config.loggers}
        self.port: int | None = None
        self.listening = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        server = await asyncio.start_server(
            self._serve, self.config.listen_host, self.config.listen_port, limit=MAX_PACKET
        )
        self.port = server.sockets[0].getsockname()[1]
        log.info("%s: listening on %s:%s", self.name, self.config.listen_host, self.port)
        self.listening.set()
        try:
            async with server:
                await server.serve_forever()
        finally:
            # Server.close() leaves accepted connections open (before Python 3.12).
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            while True:
                try:
                    raw = await reader.readuntil(codec.TRAILER)
                except asyncio.LimitOverrunError:
                    self.metrics.refuse(
                        self.name, "length", f"{peer}: no CRLF in {MAX_PACKET} bytes"
                    )
                    return  # the stream cannot be resynchronised cheaply: drop the connection
                reply = self.handle(raw)
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    def handle(self, raw: bytes) -> bytes | None:
        """One packet in, the reply out (None if no reply is due); refusals are counted."""
        try:
            packet = codec.decode_packet(raw)
        except FrameError as exc:
            self.metrics.refuse(self.name, exc.reason, exc.detail)
            return None
        logger = self.loggers.get(packet.mn)
        if logger is None:
            self.metrics.refuse(self.name, "unknown_mn", f"MN={packet.mn} is not configured")
            return None
        if logger.password and packet.pw != logger.password.get_secret_value():
            self.metrics.refuse(self.name, "password", f"MN={packet.mn}: wrong PW")
            return None
        if packet.cn not in codec.DATA_CNS:
            self.metrics.refuse(self.name, "unknown_cn", f"MN={packet.mn}: CN={packet.cn}")
            return None
        try:
            readings = self.readings(logger, packet)
        except FrameError as exc:
            self.metrics.refuse(self.name, exc.reason, f"MN={packet.mn}: {exc.detail}")
            return None
        if readings:
            self.sink(self.name, readings)
        return codec.data_reply(packet) if packet.wants_reply else None

    def readings(self, logger: Hj212LoggerConfig, packet: codec.Packet) -> list[EdgeReading]:
        record = codec.parse_data_cp(packet.cp)
        ms = to_ms(record.data_time.replace(tzinfo=self.tz))  # the logger keeps local time
        out = []
        for p in logger.points:
            if p.cn != packet.cn or p.code not in record.values:
                continue
            fields = record.values[p.code]
            text = fields.get(p.value_field)
            if text is None:
                continue
            try:
                value = float(text)
            except ValueError:
                raise FrameError("value", f"{p.code}-{p.value_field}={text!r}") from None
            if not math.isfinite(value):
                raise FrameError("value", f"{p.code}-{p.value_field}={text!r}")
            out.append(EdgeReading(p.point, ms, value, int(flag_quality(fields.get("Flag")))))
        return out
