"""A full queue drops the oldest readings, counts them and says so in the status message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks.support.network import start_mosquitto
from services.demo.broker import free_port
from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.waiting import wait_until


def test_full_queue_drops_oldest_counts_and_reports(
    tmp_path: Path, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # no broker yet: nothing leaves the queue
    driver = {
        "kind": "simulator",
        "points": [{"point": f"P{i}", "profile": "gas_m3", "interval_s": 0.05} for i in range(10)],
    }
    config = edge_config(
        tmp_path,
        "127.0.0.1",
        port,
        topic_prefix,
        [driver],
        queue={"capacity_readings": 100},
        publish={"reconnect_min_s": 0.2, "reconnect_max_s": 0.5},
    )
    with caplog.at_level(logging.WARNING, logger="edge"), running_agent(config) as agent:
        wait_until(lambda: agent.queue.dropped >= 200, 10, "200 readings dropped")
        q = agent.queue
        assert q.depth == 100 and q.fill == 1.0
        assert q.dropped >= 200
        # The oldest went: what is left is the newest 100 readings ever read.
        kept = q.fetch_after(0, 1000)
        assert len(kept) == 100
        assert kept[-1].id - kept[0].id == 99 and kept[-1].id >= q.last_id() - 10
        assert any("queue full" in r.getMessage() for r in caplog.records)
        with (
            start_mosquitto(port=port),
            collecting("127.0.0.1", port, topic_prefix) as col,
        ):
            col.wait_for(lambda: any(s.queue_dropped for s in col.statuses))
            col.wait_for(lambda: len(col.readings()) >= 100)
            report = next(s for s in col.statuses if s.queue_dropped)
            assert report.state == "online"
            assert report.queue_dropped >= 200  # type: ignore[operator]
            assert any("dropped" in w for w in report.warnings)
            assert report.queue_dropped_by_reason == {
                "capacity": report.queue_dropped,
                "disk_full": 0,
            }
            scraped = agent.metrics.registry.get_sample_value(
                "edge_queue_dropped", {"reason": "capacity"}
            )
            assert scraped is not None and scraped >= 200
