"""HJ 212-2017 driver: a TCP listener for the data loggers of monitoring stations.

Loggers connect and upload packets; each data upload (CN 2011 real-time, 2051 minute,
2061 hourly, 2031 daily) becomes readings of the configured points, committed to the queue
before the data reply (CN 9014) is sent when the packet's Flag asks for one. A refused packet
that asks for a reply, and whose header can be read, gets a request reply (CN 9011) with the
QnRtn code of the refusal instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from datetime import timezone

from edge.codecs import FrameError
from edge.codecs import hj212 as codec
from edge.codecs.hj212_framing import PacketFramer, Refused
from edge.codecs.hj212_split import SplitPackets
from edge.config import Hj212DriverConfig, Hj212LoggerConfig
from edge.drivers.base import Sink
from edge.metrics import EdgeMetrics
from edge.reading_checks import ReadingChecks
from edge.readings import EdgeReading, to_ms
from energywatch.protocol import Quality

log = logging.getLogger("edge.hj212")

READ_CHUNK = 4096

# QnRtn of a request reply (CN 9011) per refusal reason; anything else is 100 (unknown).
QN_RTN = {
    "crc": 9,
    "password": 3,
    "unknown_mn": 4,
    "unknown_cn": 8,
    "timestamp": 2,
    "value": 2,
    "not_finite": 2,
    "format": 2,
    "split": 6,
}

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
        self,
        config: Hj212DriverConfig,
        sink: Sink,
        metrics: EdgeMetrics,
        tz: timezone,
        checks: ReadingChecks | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.sink = sink
        self.metrics = metrics
        self.tz = tz
        self.checks = checks or ReadingChecks()
        self.loggers = {lg.mn: lg for lg in config.loggers}
        self.split = SplitPackets()
        self.port: int | None = None
        self.listening = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        server = await asyncio.start_server(
            self._serve, self.config.listen_host, self.config.listen_port
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
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        framer = PacketFramer()
        try:
            while True:
                chunk = await reader.read(READ_CHUNK)
                items = framer.feed(chunk) if chunk else framer.close()
                for item in items:
                    reply = self.refused(item) if isinstance(item, Refused) else self.handle(item)
                    if reply:
                        writer.write(reply)
                if items:
                    await writer.drain()
                if not chunk:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    def refused(self, item: Refused) -> bytes | None:
        """Count bytes the framer refused; answer if their header still asks for it."""
        self.metrics.refuse(self.name, item.error.reason, item.error.detail)
        packet = codec.segment_of(item.raw) if item.error.reason == "crc" else None
        if packet is None or not packet.wants_reply:
            return None
        return codec.request_reply(packet, QN_RTN["crc"])

    def handle(self, raw: bytes) -> bytes | None:
        """One packet in, the reply out (None if no reply is due); refusals are counted."""
        try:
            packet = codec.decode_packet(raw)
        except FrameError as exc:
            self.metrics.refuse(self.name, exc.reason, exc.detail)
            return None
        try:
            whole = self._accept(packet)
        except FrameError as exc:
            self.metrics.refuse(self.name, exc.reason, f"MN={packet.mn}: {exc.detail}")
            if not packet.wants_reply:
                return None
            return codec.request_reply(packet, QN_RTN.get(exc.reason, 100))
        if not packet.wants_reply:
            return None
        # A part of a split upload is answered when it arrives (the logger sends the next one
        # only then); the upload's readings are committed with its last part.
        return codec.data_reply(packet) if whole or packet.is_split else None

    def _accept(self, packet: codec.Packet) -> bool:
        """Check and queue one packet; True once its upload is whole. FrameError if refused."""
        logger = self.loggers.get(packet.mn)
        if logger is None:
            raise FrameError("unknown_mn", f"MN={packet.mn} is not configured")
        if logger.password and packet.pw != logger.password.get_secret_value():
            raise FrameError("password", "wrong PW")
        if packet.cn not in codec.DATA_CNS:
            raise FrameError("unknown_cn", f"CN={packet.cn}")
        if packet.is_split:
            whole, given_up = self.split.add(packet)
            for mn, qn, cn in given_up:
                self.metrics.refuse(
                    self.name, "split_incomplete", f"MN={mn} QN={qn} CN={cn}: parts missing"
                )
            if whole is None:
                return False
            packet = whole
        readings = self.readings(logger, packet)
        if not readings:
            # Nothing wrong with the packet (e.g. minute data where only real-time points are
            # configured): counted so it shows, but answered as delivered, not re-sent for ever.
            detail = f"MN={packet.mn} CN={packet.cn}: no configured point in the upload"
            self.metrics.refuse(self.name, "no_points", detail)
            return True
        for r in readings:
            refusal = self.checks.refusal(r)
            if refusal is not None:
                raise FrameError(*refusal)
        self.sink(self.name, readings)
        return True

    def readings(self, logger: Hj212LoggerConfig, packet: codec.Packet) -> list[EdgeReading]:
        record = codec.parse_data_cp(packet.cp)
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
            # A factor's own SampleTime (2017) wins over the packet's DataTime; both are the
            # logger's local time.
            sample = fields.get("SampleTime")
            when = record.data_time if sample is None else codec.parse_time("SampleTime", sample)
            ms = to_ms(when.replace(tzinfo=self.tz))
            out.append(EdgeReading(p.point, ms, value, int(flag_quality(fields.get("Flag")))))
        return out
