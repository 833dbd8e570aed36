"""The Modbus driver against a real pymodbus TCP server, through the agent to the broker."""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import ModbusTcpServer

from services.demo.broker import free_port, port_answers
from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress


def words(fmt: str, value: float) -> list[int]:
    raw = struct.pack(fmt, value)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def holding_registers() -> list[int]:
    regs = [0] * 64
    regs[0:2] = words(">f", 1234.5)  # float32, big word order (ABCD)
    regs[2:4] = list(reversed(words(">f", -8.25)))  # float32, little word order (CDAB)
    regs[10:12] = words(">I", 3_000_000_000)  # uint32
    regs[20] = words(">h", -300)[0]  # int16
    regs[30:34] = words(">Q", 12_345_678_901)  # uint64
    regs[40:44] = words(">d", 987654.125)  # float64
    return regs


@pytest.fixture
def modbus_server() -> Iterator[int]:
    port = free_port()
    # Data blocks number registers from 1 (the wire's address 0 is block address 1).
    device = ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, holding_registers()),
        ir=ModbusSequentialDataBlock(1, [0, 2201, 0]),
    )
    context = ModbusServerContext(devices={1: device}, single=False)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: list[ModbusTcpServer] = []

    async def serve() -> None:
        server = ModbusTcpServer(context, address=("127.0.0.1", port))
        holder.append(server)
        started.set()
        await server.serve_forever()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    started.wait(5)
    for _ in range(100):
        if port_answers("127.0.0.1", port):
            break
        threading.Event().wait(0.05)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(holder[0].shutdown(), loop).result(10)
        thread.join(10)
        loop.close()


def test_register_map_is_decoded_and_published(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str, modbus_server: int
) -> None:
    interval = 0.2
    points = [
        {"point": "F32", "address": 0, "type": "float32"},
        {"point": "F32L", "address": 2, "type": "float32", "word_order": "little"},
        {"point": "U32", "address": 10, "type": "uint32", "scale": 0.001},
        {"point": "I16", "address": 20, "type": "int16", "scale": 0.1, "offset": 1.0},
        {"point": "U64", "address": 30, "type": "uint64"},
        {"point": "F64", "address": 40, "type": "float64"},
        {"point": "V_IN", "address": 1, "table": "input", "scale": 0.1},
        {"point": "GHOST", "address": 0, "unit_id": 9},  # no such unit on the server
    ]
    driver = {
        "kind": "modbus",
        "host": "127.0.0.1",
        "port": modbus_server,
        "timeout_s": 1.0,
        "points": [{**p, "interval_s": interval} for p in points],
    }
    config = edge_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [driver])
    expected = {
        "F32": 1234.5,
        "F32L": -8.25,
        "U32": 3_000_000.0,
        "I16": -29.0,
        "U64": 12_345_678_901.0,
        "F64": 987654.125,
        "V_IN": 220.1,
    }
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        col.wait_for(lambda: expected.keys() <= {p for p, *_ in col.readings()})
        col.wait_for(lambda: agent.metrics.refused("modbus") + _errors(agent) > 0)
    latest = {p: v for p, _, v, _, _ in col.readings()}
    for point, value in expected.items():
        assert latest[point] == pytest.approx(value), point
    assert "GHOST" not in latest


def _errors(agent) -> float:
    return agent.metrics.device_errors.labels(driver="modbus")._value.get()
