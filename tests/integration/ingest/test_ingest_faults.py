"""Faults: ingest killed mid-stream, the database away mid-stream. Exactly N rows after each."""

from __future__ import annotations

import os
import time

import psycopg
import pytest

from benchmarks.support.registry_rows import register
from tests.integration.ingest.harness import (
    BackgroundPublish,
    IngestProcess,
    Publisher,
    count,
    stream,
)
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

# The database outage of the fault test; the issue asks for 30 s, the default run is shorter.
OUTAGE_S = float(os.environ.get("ENERGYWATCH_TEST_DB_OUTAGE_S", "8"))


@pytest.fixture
def points(db_url: str) -> dict[str, int]:
    return register(db_url, "S1", "D1", [f"E{i:02d}" for i in range(20)])


def test_kill_9_mid_stream_then_restart_stores_exactly_n(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, points: dict[str, int]
) -> None:
    n_messages, per_message = 300, 100
    n = n_messages * per_message
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix, batch_max_readings=1000).start()
    feed = BackgroundPublish(
        mqtt_broker,
        f"{topic_prefix}/S1/D1/readings",
        stream(list(points), n_messages, per_message),
        pause_s=0.01,
    )
    try:
        wait_until(lambda: count(db_url) >= n // 4, 30, "a quarter of the readings stored")
        ingest.kill()
        stored_at_kill = count(db_url)
        assert 0 < stored_at_kill < n
        feed.join()  # the rest reaches the broker while ingest is dead
        ingest.start()  # same client id: the persistent session is resumed
        wait_until(lambda: count(db_url) >= n, 60, f"{n} readings stored")
        wait_until(lambda: ingest.metric("ingest_inflight_messages") == 0, 30, "all acknowledged")
        assert count(db_url) == n
        assert count(db_url, "SELECT count(DISTINCT (point_id, ts)) FROM readings") == n
        assert count(db_url, "SELECT count(*) FROM dead_letters") == 0
    finally:
        if ingest.running():
            assert ingest.stop() == 0, ingest.output()


def _block(pg_db_url: str, allow: bool) -> None:
    name = pg_db_url.rsplit("/", 1)[1]
    maintenance = pg_db_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )


@pytest.mark.slow
def test_database_away_mid_stream_then_back_stores_exactly_n(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, points: dict[str, int]
) -> None:
    n_messages, per_message, max_inflight = 200, 100, 40
    n = n_messages * per_message
    ingest = IngestProcess(
        db_url, mqtt_broker, topic_prefix, max_inflight_messages=max_inflight
    ).start()
    feed = BackgroundPublish(
        mqtt_broker,
        f"{topic_prefix}/S1/D1/readings",
        stream(list(points), n_messages, per_message),
        pause_s=(OUTAGE_S + 4) / n_messages,
    )
    try:
        wait_until(lambda: count(db_url) >= n // 10, 30, "a tenth of the readings stored")
        _block(db_url, allow=False)
        try:
            acked = ingest.metric('ingest_messages_total{outcome="acked"}')
            end = time.monotonic() + OUTAGE_S
            peak = 0.0
            while time.monotonic() < end:
                peak = max(peak, ingest.metric("ingest_inflight_messages") or 0.0)
                time.sleep(0.2)
            assert ingest.running(), ingest.output()
            # Nothing acknowledged while the database is away, and memory stays bounded.
            assert ingest.metric('ingest_messages_total{outcome="acked"}') == acked
            assert (ingest.metric("ingest_db_errors_total") or 0) >= 1
            assert ingest.metric("ingest_db_up") == 0
            assert 0 < peak <= max_inflight
        finally:
            _block(db_url, allow=True)
        feed.join()
        wait_until(lambda: count(db_url) >= n, 60, f"{n} readings stored after the outage")
        wait_until(lambda: ingest.metric("ingest_inflight_messages") == 0, 30, "all acknowledged")
        assert count(db_url) == n
        assert ingest.metric("ingest_db_up") == 1
    finally:
        assert ingest.stop() == 0, ingest.output()


def test_messages_in_flight_are_bounded_in_bytes_while_the_database_blocks(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, points: dict[str, int]
) -> None:
    # A count of messages alone let 500 large messages in (447 MB); the byte bound holds the
    # broker's deliveries back once the payloads in flight reach it.
    limit = 1024 * 1024
    messages = stream(list(points), 30, 2000)
    admitted, total = 0, 0  # the messages, in order, whose payloads fit; the next one waits
    while total + len(messages[admitted]) <= limit:
        total += len(messages[admitted])
        admitted += 1
    assert 1 < admitted < len(messages)
    ingest = IngestProcess(
        db_url, mqtt_broker, topic_prefix, max_inflight_bytes=limit, batch_max_age_ms=20
    ).start()
    received = 'ingest_messages_total{outcome="received"}'
    blocker = psycopg.connect(db_url)
    try:
        blocker.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")  # writers wait
        publisher = Publisher(mqtt_broker)
        try:
            publisher.publish(f"{topic_prefix}/S1/D1/readings", messages)
        finally:
            publisher.close()
        wait_until(lambda: ingest.metric(received) == admitted, 30, f"{admitted} messages in")
        # Negative check: unbounded, the broker hands over all 30 within milliseconds; 2 s
        # leaves a bound that only looked right at first no room to hide.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            assert (ingest.metric(received) or 0) <= admitted
            assert (ingest.metric("ingest_inflight_bytes") or 0) <= limit
            time.sleep(0.1)
        blocker.rollback()
        wait_until(lambda: count(db_url) == 30 * 2000, 60, "every reading stored")
    finally:
        blocker.close()
        assert ingest.stop() == 0, ingest.output()
