"""The DL/T 645 driver against a meter simulator on a real socket (a serial-to-TCP converter).

The simulated meter builds its frames by hand (its own checksum and +0x33 code), so the test
does not trust the codec it checks.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress

METER = "202611200001"
ADDRESS_BYTES = bytes([0x01, 0x00, 0x20, 0x11, 0x26, 0x20])  # low byte first

# DI (as sent, low byte first) -> value bytes as a meter sends them (BCD low byte first).
VALUES: dict[bytes, bytes] = {
    bytes([0x00, 0x00, 0x01, 0x00]): bytes([0x78, 0x56, 0x34, 0x12]),  # 123456.78 kWh
    bytes([0x00, 0x01, 0x01, 0x02]): bytes([0x01, 0x22]),  # 220.1 V
    bytes([0x00, 0x01, 0x02, 0x02]): bytes([0x34, 0x12, 0x00]),  # 1.234 A
    bytes([0x00, 0x00, 0x03, 0x02]): bytes([0x50, 0x34, 0x82]),  # -2.3450 kW (sign bit)
    bytes([0x00, 0x00, 0x06, 0x02]): bytes([0x87, 0x09]),  # 0.987
}
CORRUPT = bytes([0x00, 0x00, 0x02, 0x00])  # reverse energy: the meter answers with a bad CS


def frame(control: int, data: bytes, corrupt: bool = False) -> bytes:
    body = b"\x68" + ADDRESS_BYTES + bytes([0x68, control, len(data)])
    body += bytes((b + 0x33) & 0xFF for b in data)
    cs = sum(body) & 0xFF
    return b"\xfe\xfe" + body + bytes([(cs + 1) & 0xFF if corrupt else cs, 0x16])


class MeterHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        buf = b""
        while True:
            chunk = self.request.recv(256)
            if not chunk:
                return
            buf += chunk
            buf = buf.lstrip(b"\xfe")
            while len(buf) >= 12 and len(buf) >= 12 + buf[9]:
                request, buf = buf[: 12 + buf[9]], buf[12 + buf[9] :]
                assert request[1:7] == ADDRESS_BYTES and request[8] == 0x11
                di = bytes((b - 0x33) & 0xFF for b in request[10:14])
                if di in VALUES:
                    reply = frame(0x91, di + VALUES[di])
                elif di == CORRUPT:
                    reply = frame(0x91, di + bytes(4), corrupt=True)
                else:
                    reply = frame(0xD1, b"\x02")  # error: no such data
                self.request.sendall(reply)


@pytest.fixture
def meter_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), MeterHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_meter_values_reach_the_broker_and_bad_frames_are_counted(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str, meter_port: int
) -> None:
    ids = {
        "E_FWD": "00010000",
        "U_A": "02010100",
        "I_A": "02020100",
        "P_TOT": "02030000",
        "PF": "02060000",
        "E_REV": "00020000",  # corrupt reply
        "U_B": "02010200",  # the meter has no such data: error reply
    }
    driver = {
        "kind": "dlt645",
        "host": "127.0.0.1",
        "port": meter_port,
        "timeout_s": 1.0,
        "meters": [
            {
                "address": METER,
                "points": [
                    {"point": p, "identifier": di, "interval_s": 0.3} for p, di in ids.items()
                ],
            }
        ],
    }
    config = edge_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [driver])
    expected = {"E_FWD": 123456.78, "U_A": 220.1, "I_A": 1.234, "P_TOT": -2.345, "PF": 0.987}
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        # Two rounds: the agent kept reading after the bad frame and the error reply.
        col.wait_for(
            lambda: all(sum(1 for p, *_ in col.readings() if p == name) >= 2 for name in expected)
        )
        assert agent.metrics.refused("dlt645", "checksum") >= 1
        assert agent.metrics.device_errors.labels(driver="dlt645")._value.get() >= 1
    latest = {p: v for p, _, v, _, _ in col.readings()}
    for point, value in expected.items():
        assert latest[point] == pytest.approx(value), point
    assert "E_REV" not in latest and "U_B" not in latest
