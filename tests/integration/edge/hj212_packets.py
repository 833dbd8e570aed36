"""HJ 212 packets written out from the standard's format, for the driver's tests (the tests do
not trust the codec they check, so the CRC is computed here again)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from edge.agent import EdgeAgent
from edge.config import EdgeConfig
from tests.integration.edge.support import edge_config

MN = "88888880000001"
PW = "123456"


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def packet(segment: str, length: int | None = None, crc: int | None = None) -> bytes:
    body = segment.encode()
    n = len(body) if length is None else length
    c = crc16(body) if crc is None else crc
    return b"##" + f"{n:04d}".encode() + body + f"{c:04X}".encode() + b"\r\n"


def upload(cn: int, qn: str, cp: str, flag: int = 5, extra: str = "", pw: str = PW) -> str:
    return f"QN={qn};ST=22;CN={cn};PW={pw};MN={MN};Flag={flag};{extra}CP=&&{cp}&&"


def station_config(
    tmp_path: Path, host: str, port: int, prefix: str, points: list[dict[str, Any]], **extra: Any
) -> EdgeConfig:
    driver = {
        "kind": "hj212",
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "loggers": [{"mn": MN, "password": PW, "points": points}],
    }
    return edge_config(tmp_path, host, port, prefix, [driver], **extra)


def listener_port(agent: EdgeAgent) -> int:
    hj = agent.drivers[0]
    deadline = time.monotonic() + 5
    while getattr(hj, "port", None) is None:
        assert time.monotonic() < deadline, "the HJ 212 listener did not start"
        time.sleep(0.02)
    port: int = hj.port  # type: ignore[attr-defined]
    return port


def connect(agent: EdgeAgent) -> socket.socket:
    return socket.create_connection(("127.0.0.1", listener_port(agent)), timeout=10)
