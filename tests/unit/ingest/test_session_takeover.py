"""Ingest's reaction to a broker's DISCONNECT with reason 142 (session taken over).

Mosquitto 2.0.11 (the version on the development machines) closes the old connection without
delivering that DISCONNECT, so no real broker here produces it: the callback is driven with
the reason code object paho builds from the packet.
"""

from __future__ import annotations

import logging

import pytest
from paho.mqtt.client import DisconnectFlags
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from energywatch.dependencies import Dependency
from energywatch.settings import IngestSettings, MqttSettings
from services.ingest.consumer import MqttConsumer
from services.ingest.metrics import IngestMetrics


def _disconnect(consumer: MqttConsumer, code: int) -> None:
    reason = ReasonCode(PacketTypes.DISCONNECT, identifier=code)
    consumer._on_disconnect(consumer._client, None, DisconnectFlags(True), reason, None)


@pytest.fixture
def consumer() -> MqttConsumer:
    ingest = IngestSettings(client_id="ew-ingest-abc-1")
    broker = Dependency("broker", logging.getLogger("test"))
    return MqttConsumer(MqttSettings(), ingest, lambda inbound: None, IngestMetrics(), broker)


def _takeovers(consumer: MqttConsumer) -> float:
    value = consumer._metrics.registry.get_sample_value("ingest_session_takeovers_total")
    assert value is not None
    return value


def test_takeover_is_logged_once_and_counted(
    consumer: MqttConsumer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.ingest.consumer"):
        _disconnect(consumer, 142)
    assert _takeovers(consumer) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "session taken over: another client connected to 127.0.0.1:1883 with this worker's "
        "client id 'ew-ingest-abc-1'; give every worker and installation its own client id"
    ]


def test_other_disconnections_are_not_takeovers(
    consumer: MqttConsumer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.ingest.consumer"):
        _disconnect(consumer, 139)  # server shutting down
    assert _takeovers(consumer) == 0
    assert "session taken over" not in caplog.text
