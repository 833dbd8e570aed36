"""Two workers on the shared subscription; one stops cleanly mid-stream; nothing is stranded."""

from __future__ import annotations

import pytest

from benchmarks.support.registry_rows import register
from tests.integration.ingest.harness import (
    BackgroundPublish,
    IngestProcess,
    count,
    stream,
)
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until


@pytest.fixture
def points(db_url: str) -> dict[str, int]:
    return register(db_url, "S1", "D1", [f"E{i:02d}" for i in range(20)])


def test_workers_split_the_stream_and_a_stopped_worker_leaves_nothing_behind(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, points: dict[str, int]
) -> None:
    n_messages, per_message = 300, 50
    n = n_messages * per_message
    first = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    second = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    feed = BackgroundPublish(
        mqtt_broker,
        f"{topic_prefix}/S1/D1/readings",
        stream(list(points), n_messages, per_message),
        pause_s=0.01,
    )
    try:
        wait_until(lambda: count(db_url) >= n // 3, 30, "a third of the readings stored")
        assert (first.metric('ingest_messages_total{outcome="received"}') or 0) > 0
        assert (second.metric('ingest_messages_total{outcome="received"}') or 0) > 0
        assert first.stop() == 0, first.output()  # SIGTERM: drains, acks, ends its session
        feed.join()
        wait_until(lambda: count(db_url) >= n, 30, f"{n} readings stored by the remaining worker")
        assert count(db_url) == n
    finally:
        if first.running():
            first.stop()
        assert second.stop() == 0, second.output()
