"""Modbus TCP driver (pymodbus): register maps from the config, read in coalesced blocks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from edge.codecs.modbus_registers import Block, decode_registers, plan_blocks, register_count
from edge.config import ModbusDriverConfig, ModbusPointConfig
from edge.drivers.base import Sink, every, group_by_interval
from edge.log_limit import RateLimitedLog
from edge.metrics import EdgeMetrics
from edge.readings import EdgeReading, to_ms

log = logging.getLogger("edge.modbus")


class ModbusDriver:
    def __init__(self, config: ModbusDriverConfig, sink: Sink, metrics: EdgeMetrics) -> None:
        self.name = config.name
        self.config = config
        self.sink = sink
        self.metrics = metrics
        self._lock = asyncio.Lock()  # one request at a time on the connection
        self._client: AsyncModbusTcpClient | None = None
        self._warn = RateLimitedLog(log)  # a device away would log every tick otherwise

    async def run(self) -> None:
        groups = group_by_interval(self.config.points, lambda p: p.interval_s)
        try:
            async with asyncio.TaskGroup() as tg:
                for interval, points in groups.items():
                    tg.create_task(every(interval, self._ticker(points)))
        finally:
            if self._client is not None:
                self._client.close()

    def _ticker(self, points: list[ModbusPointConfig]) -> Callable[[datetime], Awaitable[None]]:
        plans: dict[tuple[int, str], list[Block[ModbusPointConfig]]] = {}
        by_table: dict[tuple[int, str], list[tuple[int, int, ModbusPointConfig]]] = {}
        for p in points:
            unit = self.config.unit_id if p.unit_id is None else p.unit_id
            by_table.setdefault((unit, p.table), []).append((p.address, register_count(p.type), p))
        for key, spans in by_table.items():
            plans[key] = plan_blocks(spans)

        async def tick(ts: datetime) -> None:
            readings = await self.read(plans, ts)
            if readings:
                self.sink(self.name, readings)

        return tick

    async def read(
        self, plans: dict[tuple[int, str], list[Block[ModbusPointConfig]]], ts: datetime
    ) -> list[EdgeReading]:
        ms = to_ms(ts)
        out: list[EdgeReading] = []
        async with self._lock:
            client = await self._connected()
            if client is None:
                return out
            for (unit, table), blocks in plans.items():
                for block in blocks:
                    words = await self._read_block(client, unit, table, block)
                    if words is None:
                        continue
                    for address, size, p in block.items:
                        offset = address - block.start
                        raw = decode_registers(words[offset : offset + size], p.type, p.word_order)
                        out.append(EdgeReading(p.point, ms, raw * p.scale + p.offset))
        return out

    async def _connected(self) -> AsyncModbusTcpClient | None:
        if self._client is not None and self._client.connected:
            return self._client
        if self._client is not None:
            self._client.close()
        c = self.config
        # pymodbus' own reconnect is off: the next tick retries, so there is one place for it.
        self._client = AsyncModbusTcpClient(
            c.host, port=c.port, timeout=c.timeout_s, retries=0, reconnect_delay=0
        )
        if not await self._client.connect():
            self._warn.warning("connect", "%s: cannot connect to %s:%s", self.name, c.host, c.port)
            self.metrics.device_errors.labels(driver=self.name).inc()
            return None
        return self._client

    async def _read_block(
        self, client: AsyncModbusTcpClient, unit: int, table: str, block: Block[ModbusPointConfig]
    ) -> list[int] | None:
        read = client.read_holding_registers if table == "holding" else client.read_input_registers
        try:
            response = await read(block.start, count=block.count, device_id=unit)
        except (TimeoutError, ModbusException, OSError) as exc:
            self._warn.warning(
                f"read:{unit}:{table}:{block.start}",
                "%s: read %s %d+%d failed: %s",
                self.name,
                table,
                block.start,
                block.count,
                exc,
            )
            self.metrics.device_errors.labels(driver=self.name).inc()
            return None
        if response.isError():
            self.metrics.refuse(
                self.name,
                "exception",
                f"unit {unit} {table} {block.start}+{block.count}: {response}",
            )
            return None
        registers = list(response.registers)
        if len(registers) < block.count:
            self.metrics.refuse(
                self.name, "length", f"asked {block.count} registers, got {len(registers)}"
            )
            return None
        return registers
