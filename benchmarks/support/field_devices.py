"""Field devices for the edge benchmark: a Modbus TCP server, DL/T 645 meters behind a
serial-to-TCP converter, and an HJ 212 data logger, each answering or sending real frames, so
that every point of the agent delivers readings while its memory is measured."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from datetime import datetime

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import ModbusTcpServer

from edge.codecs.dlt645 import encode_reply, find_frame
from edge.codecs.hj212 import encode_packet
from services.demo.broker import free_port, port_answers


@contextlib.contextmanager
def modbus_server(registers: int) -> Iterator[int]:
    """The port of a Modbus TCP server (unit 1) whose holding registers count up from 1."""
    port = free_port()
    # Data blocks number registers from 1 (the wire's address 0 is block address 1).
    device = ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, list(range(1, registers + 1))))
    context = ModbusServerContext(devices={1: device}, single=False)
    loop = asyncio.new_event_loop()
    servers: list[ModbusTcpServer] = []

    async def serve() -> None:
        servers.append(ModbusTcpServer(context, address=("127.0.0.1", port)))
        await servers[0].serve_forever()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    _wait_for_port(port)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(servers[0].shutdown(), loop).result(10)
        thread.join(10)
        loop.close()


class _Meters(socketserver.BaseRequestHandler):
    """Every meter on the bus: a read of any address and identifier gets its value."""

    def handle(self) -> None:
        buf = b""
        with contextlib.suppress(ConnectionError):
            while chunk := self.request.recv(256):
                buf += chunk
                frame, used = find_frame(buf)
                buf = buf[used:]
                if frame is not None:
                    di = int.from_bytes(frame.data[:4], "little")
                    self.request.sendall(encode_reply(frame.address, di, time.time() % 1e5))


@contextlib.contextmanager
def serving(handler: type[socketserver.BaseRequestHandler]) -> Iterator[int]:
    """The port of a TCP server running `handler` for each connection until the block ends."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def dlt645_meters() -> contextlib.AbstractContextManager[int]:
    """The port of a serial-to-TCP converter with DL/T 645 meters of every address behind it."""
    return serving(_Meters)


def hj212_upload(mn: str, password: str, codes: list[str], now: datetime) -> bytes:
    """A real-time data upload (CN=2011) of every code."""
    values = ";".join(f"{code}-Rtd={now.second + 0.5},{code}-Flag=N" for code in codes)
    qn = now.strftime("%Y%m%d%H%M%S%f")[:17]
    return encode_packet(
        f"QN={qn};ST=22;CN=2011;PW={password};MN={mn};Flag=4;"
        f"CP=&&DataTime={now:%Y%m%d%H%M%S};{values}&&"
    )


@contextlib.contextmanager
def hj212_logger(
    port: int, mn: str, password: str, codes: list[str], interval_s: float
) -> Iterator[None]:
    """A data logger that connects to the agent on `port` (once it listens) and uploads every
    code every `interval_s` until the block ends."""
    stop = threading.Event()

    def run() -> None:
        _wait_for_port(port)
        # the agent may end before the logger does: its closing the connection ends the uploads
        with (
            contextlib.suppress(ConnectionError),
            socket.create_connection(("127.0.0.1", port), timeout=5) as conn,
        ):
            while not stop.wait(interval_s):
                conn.sendall(hj212_upload(mn, password, codes, datetime.now()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not port_answers("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port}")
        time.sleep(0.05)
