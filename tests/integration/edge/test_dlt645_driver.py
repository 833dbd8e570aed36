"""The DL/T 645 driver against a meter simulator on a real socket (a serial-to-TCP converter).

The simulated meter builds its frames by hand (its own checksum and +0x33 code), so the test
does not trust the codec it checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.support.field_devices import serving
from tests.integration.edge.meter_sim import MeterBase, frame, meter_driver
from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress

# DI (as sent, low byte first) -> value bytes as a meter sends them (BCD low byte first).
VALUES: dict[bytes, bytes] = {
    bytes([0x00, 0x00, 0x01, 0x00]): bytes([0x78, 0x56, 0x34, 0x12]),  # 123456.78 kWh
    bytes([0x00, 0x01, 0x01, 0x02]): bytes([0x01, 0x22]),  # 220.1 V
    bytes([0x00, 0x01, 0x02, 0x02]): bytes([0x34, 0x12, 0x00]),  # 1.234 A
    bytes([0x00, 0x00, 0x03, 0x02]): bytes([0x50, 0x34, 0x82]),  # -2.3450 kW (sign bit)
    bytes([0x00, 0x00, 0x06, 0x02]): bytes([0x87, 0x09]),  # 0.987
}
CORRUPT = bytes([0x00, 0x00, 0x02, 0x00])  # reverse energy: the meter answers with a bad CS


class MeterHandler(MeterBase):
    def answer(self, request: bytes, control: int, data: bytes) -> bytes:
        assert control == 0x11
        di = data[:4]
        if di in VALUES:
            return frame(0x91, di + VALUES[di])
        if di == CORRUPT:
            return frame(0x91, di + bytes(4), corrupt=True)
        return frame(0xD1, b"\x02")  # error: no such data


@pytest.fixture
def meter_port() -> Iterator[int]:
    with serving(MeterHandler) as port:
        yield port


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
    driver = meter_driver(meter_port, ids)
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
