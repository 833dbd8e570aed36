"""Default MQTT client ids: the same on every start of an installation, different between
installations that share a broker."""

from __future__ import annotations

from energywatch.protocol.client_ids import edge_client_id
from energywatch.settings import DatabaseSettings, IngestSettings, MqttSettings, Settings

PROD = "postgresql://ew:pw1@db.example:5432/energywatch"


def _settings(url: str = PROD, prefix: str = "ew/v1", **fields: object) -> Settings:
    return Settings(
        demo=True,
        database=DatabaseSettings(url=url),
        mqtt=MqttSettings(topic_prefix=prefix),
        **fields,  # type: ignore[arg-type]
    )


def test_ingest_id_is_restart_stable_and_ignores_credentials() -> None:
    first = _settings().ingest_client_id
    assert first == _settings().ingest_client_id
    assert (
        first
        == _settings(url="postgresql://other:pw2@db.example:5432/energywatch?x=1").ingest_client_id
    )
    assert first.startswith("ew-ingest-") and first.endswith("-1")


def test_installations_sharing_a_broker_get_different_ingest_ids() -> None:
    ids = {
        _settings().ingest_client_id,
        _settings(url="postgresql://ew@db.example:5432/energywatch_demo").ingest_client_id,
        _settings(url="postgresql://ew@127.0.0.1:5432/energywatch").ingest_client_id,
        _settings(prefix="ewtest/abc").ingest_client_id,
        _settings(installation_id="staging").ingest_client_id,
    }
    assert len(ids) == 5


def test_workers_differ_and_an_explicit_id_wins() -> None:
    one = _settings(ingest=IngestSettings(worker="1")).ingest_client_id
    two = _settings(ingest=IngestSettings(worker="2")).ingest_client_id
    assert one != two
    assert _settings(ingest=IngestSettings(client_id="mine")).ingest_client_id == "mine"
    assert _settings(installation_id="plant-a").ingest_client_id == "ew-ingest-plant-a-1"


def test_edge_ids_differ_by_prefix_and_device() -> None:
    ids = {
        edge_client_id("ew/v1", "S1", "gw1"),
        edge_client_id("ew/v1", "S1", "gw2"),
        edge_client_id("ewtest/abc", "S1", "gw1"),
    }
    assert len(ids) == 3
    assert edge_client_id("ew/v1", "S1", "gw1") == edge_client_id("ew/v1", "S1", "gw1")
