"""Ingest end to end: real Mosquitto, real PostgreSQL, the service as a process."""

from __future__ import annotations

import psycopg
import pytest

from benchmarks.support.registry_rows import register
from energywatch.storage.dirty_marks import fold
from tests.integration.ingest.harness import IngestProcess, Publisher, count, stream
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until


@pytest.fixture
def points(db_url: str) -> dict[str, int]:
    return register(db_url, "S1", "D1", [f"E{i:02d}" for i in range(10)])


def test_stores_every_reading_once_even_when_published_twice(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, points: dict[str, int]
) -> None:
    messages = stream(list(points), n_messages=40, per_message=50)
    n = 40 * 50
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    publisher = Publisher(mqtt_broker)
    try:
        topic = f"{topic_prefix}/S1/D1/readings"
        publisher.publish(topic, messages)
        publisher.publish(topic, messages)
        wait_until(
            lambda: (ingest.metric('ingest_messages_total{outcome="acked"}') or 0) >= 80,
            30,
            "all 80 messages acknowledged",
        )
        assert count(db_url) == n
        assert count(db_url, "SELECT count(*) FROM dead_letters") == 0
        assert ingest.metric("ingest_readings_stored_total") == n
        assert ingest.metric("ingest_readings_duplicate_total") == n
        assert ingest.metric("ingest_inflight_messages") == 0
        # Exactly the 15-minute buckets the readings fall in are marked dirty for the rollup,
        # once the log of what each batch touched is folded (as every rollup pass does).
        with psycopg.connect(db_url) as conn:
            assert fold(conn)
        buckets = (
            "SELECT DISTINCT point_id,"
            " date_bin('15 minutes', ts, TIMESTAMPTZ '2000-01-01 00:00+00') FROM readings"
        )
        marked = "SELECT point_id, bucket FROM dirty_buckets"
        assert count(db_url, f"SELECT count(*) FROM ({buckets}) b") > 1
        assert count(db_url, f"SELECT count(*) FROM ({buckets} EXCEPT {marked}) x") == 0
        assert count(db_url, f"SELECT count(*) FROM ({marked} EXCEPT {buckets}) x") == 0
    finally:
        publisher.close()
        assert ingest.stop() == 0, ingest.output()
