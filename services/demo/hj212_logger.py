"""A simulated HJ 212-2017 data logger (数采仪): samples simulated analysers and uploads
real-time data (CN 2011) to an edge agent's HJ 212 listener over TCP, as a station would."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timezone

from edge.codecs import hj212
from edge.sim import PointSimulator, SimPoint
from energywatch.protocol import Quality

log = logging.getLogger("demo.hj212")

# HJ 212 flags by quality: N valid, D fault, S manual (see edge/drivers/hj212.py).
_FLAG = {Quality.GOOD: "N", Quality.INVALID: "D", Quality.MANUAL: "S"}

# A scripted override: (point code, time) -> value to send instead of the simulated one.
Override = Callable[[str, datetime], float | None]


@dataclass(frozen=True)
class LoggerPoint:
    point: str
    code: str  # pollutant code, e.g. a21026 (SO2)
    sim: SimPoint


def data_segment(
    mn: str, st: int, password: str, local: datetime, values: list[tuple[str, float, str]]
) -> str:
    """The data segment of one real-time upload; `values` are (code, value, flag)."""
    cp = ";".join(f"{code}-Rtd={value:.3f},{code}-Flag={flag}" for code, value, flag in values)
    qn = local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"
    return (
        f"QN={qn};ST={st};CN={hj212.CN_REALTIME};PW={password};MN={mn};"
        f"Flag={hj212.FLAG_VERSION_2017 | hj212.FLAG_ACK};"
        f"CP=&&DataTime={local.strftime('%Y%m%d%H%M%S')};{cp}&&"
    )


class SimulatedLogger:
    def __init__(
        self,
        mn: str,
        st: int,
        points: list[LoggerPoint],
        tz: timezone,
        interval_s: float,
        seed: int,
        password: str = "123456",
        override: Override | None = None,
    ) -> None:
        self.mn, self.st, self.password = mn, st, password
        self.points = points
        self.tz = tz
        self.interval_s = interval_s
        self.sims = {p.point: PointSimulator(p.sim, seed) for p in points}
        self.override = override
        self.sent = 0

    def packet(self, now: datetime) -> bytes:
        local = now.astimezone(self.tz).replace(tzinfo=None)
        values = []
        for p in self.points:
            sample = self.sims[p.point].step(now.astimezone(self.tz))
            if sample is None:
                continue  # analyser silent (simulated fault)
            value = sample.value
            forced = self.override(p.point, now) if self.override else None
            if forced is not None:
                value = forced
            values.append((p.code, value, _FLAG.get(sample.quality, "N")))
        return hj212.encode_packet(data_segment(self.mn, self.st, self.password, local, values))

    async def run(self, host: str, port: int) -> None:
        """Upload every interval until cancelled; reconnect when the edge agent is away."""
        writer: asyncio.StreamWriter | None = None
        reader: asyncio.StreamReader | None = None
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        try:
            while True:
                next_at += self.interval_s
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    assert reader is not None
                    writer.write(self.packet(datetime.now(UTC).replace(microsecond=0)))
                    await writer.drain()
                    await asyncio.wait_for(reader.readuntil(hj212.TRAILER), timeout=5)
                    self.sent += 1
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    log.warning("logger %s: %s; reconnecting", self.mn, exc)
                    if writer is not None:
                        writer.close()
                    writer = reader = None
                await asyncio.sleep(max(0.0, next_at - loop.time()))
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
