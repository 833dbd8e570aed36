"""Fuzzing ingest through the real broker: every message committed (stored or dead-lettered),
no crash, memory bounded. ENERGYWATCH_TEST_FUZZ_MESSAGES sets the count (100,000 for the long
run quoted in docs/ingest.md)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from benchmarks.support.registry_rows import register
from tests.integration.ingest.fuzz_payloads import payloads
from tests.integration.ingest.harness import IngestProcess, Publisher, count
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

MESSAGES = int(os.environ.get("ENERGYWATCH_TEST_FUZZ_MESSAGES", "3000"))
RSS_LIMIT_MB = 300
WINDOW = 400


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _acked_at_least(ingest: IngestProcess, n: int) -> bool:
    return (ingest.metric('ingest_messages_total{outcome="acked"}') or 0) >= n


def _counts(ingest: IngestProcess) -> dict[str, float]:
    return {k: v for k, v in ingest.metrics().items() if k.startswith("ingest_messages_total")}


@pytest.mark.parametrize("seed", [1])
def test_fuzzed_payloads_are_each_stored_or_dead_lettered_without_a_crash(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, seed: int
) -> None:
    points = list(register(db_url, "S1", "D1", [f"E{i:02d}" for i in range(10)]))
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    publisher = Publisher(mqtt_broker)
    acked = 'ingest_messages_total{outcome="acked"}'
    try:
        topic = f"{topic_prefix}/S1/D1/readings"
        # A window of messages at a time, as an edge agent sends: a broker with the default
        # max_queued_messages (1,000) drops what overflows a busy subscriber's queue, and this
        # test is about ingest, not the broker's limits.
        batch: list[bytes] = []
        sent = 0
        for payload in payloads(seed, points, MESSAGES):
            batch.append(payload)
            if len(batch) == WINDOW:
                publisher.publish(topic, batch)
                sent += len(batch)
                batch = []
                wait_until(
                    functools.partial(_acked_at_least, ingest, sent - WINDOW),
                    60,
                    "ingest to keep up",
                    detail=lambda: f"metrics {_counts(ingest)}",
                )
        publisher.publish(topic, batch)
        wait_until(
            lambda: (ingest.metric(acked) or 0) >= MESSAGES,
            60 + MESSAGES / 100,
            "every message committed",
            detail=lambda: f"metrics {_counts(ingest)}; log tail {ingest.output()[-2000:]!r}",
        )
        assert ingest.running(), ingest.output()
        assert ingest.proc is not None
        peak = _peak_rss_mb(ingest.proc.pid)
        # Committed means stored or dead-lettered; none needed the bug catch-all.
        assert ingest.metric('ingest_rejected_total{reason="internal_error"}') in (None, 0.0)
        assert count(db_url, "SELECT count(*) FROM dead_letters") > MESSAGES // 2
        assert count(db_url) > 0
        assert "Traceback" not in ingest.output()
        print(f"{MESSAGES} messages, ingest peak RSS {peak:.0f} MB")  # quoted with -s
        assert peak <= RSS_LIMIT_MB, f"ingest peaked at {peak:.0f} MB"
    finally:
        publisher.close()
        assert ingest.stop() == 0, ingest.output()
