"""DL/T 645 beyond the single clean reply: signed energies, follow-up frames, and noise, echoes
and stray 68s before the reply. The meter simulator writes its frames by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from benchmarks.support.field_devices import serving
from tests.integration.edge.meter_sim import MeterBase, frame, meter_driver
from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress

COMBINED = bytes([0x00, 0x00, 0x00, 0x00])  # 00000000 combined active energy
FORWARD = bytes([0x00, 0x00, 0x01, 0x00])  # 00010000 forward active energy
VOLTAGE = bytes([0x00, 0x01, 0x01, 0x02])  # 02010100 phase A voltage


class Meter(MeterBase):
    follow_ups: ClassVar[list[bytes]] = []  # the DATA of each 0x12 request seen

    def answer(self, request: bytes, control: int, data: bytes) -> bytes:
        di = data[:4]
        if control == 0x12:
            Meter.follow_ups.append(data)
            # The rest of 123456.78 (BCD 12 34 56 78, low byte first), then SEQ.
            return frame(0x92, di + bytes([0x34, 0x12]) + data[4:5])
        if di == COMBINED:
            return frame(0x91, di + bytes([0x34, 0x12, 0x00, 0x80]))  # -12.34: sign bit set
        if di == FORWARD:
            return frame(0xB1, di + bytes([0x78, 0x56]))  # more follows
        if di == VOLTAGE:
            # A converter that echoes the request, noise with stray 68s, then the reply.
            noise = b"\x00\x68\x11\x68" + b"\x68" * 3
            return request + noise + frame(0x91, di + bytes([0x01, 0x22]))
        return frame(0xD1, b"\x02")


@pytest.fixture
def meter_port() -> Iterator[int]:
    Meter.follow_ups = []
    with serving(Meter) as port:
        yield port


def test_signed_energy_follow_up_frames_and_noise_before_the_reply(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str, meter_port: int
) -> None:
    ids = {"E_COMB": "00000000", "E_FWD": "00010000", "U_A": "02010100"}
    driver = meter_driver(meter_port, ids)
    config = edge_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [driver])
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        col.wait_for(
            lambda: all(sum(1 for p, *_ in col.readings() if p == name) >= 2 for name in ids)
        )
        assert agent.metrics.refused("dlt645") == 0
        assert agent.metrics.device_errors.labels(driver="dlt645")._value.get() == 0
    values = {(p, v) for p, _, v, _, _ in col.readings()}
    assert values == {("E_COMB", -12.34), ("E_FWD", 123456.78), ("U_A", 220.1)}
    assert Meter.follow_ups and all(d == FORWARD + b"\x01" for d in Meter.follow_ups)
