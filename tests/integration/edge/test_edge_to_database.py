"""End to end: edge agent (killed with -9 mid-replay, restarted) -> broker -> ingest -> database.

Every reading the agent read is stored exactly once, and the database holds the same values
a subscriber saw first.
"""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import psycopg

from benchmarks.support.registry_rows import register
from edge.config import EdgeConfig
from services.demo.broker import free_port
from tests.integration.edge.support import (
    assert_in_order_per_point,
    collecting,
    edge_config,
    queue_totals,
    write_yaml,
)
from tests.integration.edge.test_fault_tolerance import (
    NOTHING_MORE_S,
    sim_driver,
    start_agent_process,
    wait_for_backlog,
)
from tests.integration.ingest.harness import IngestProcess, count
from tests.support.services import BrokerAddress
from tests.support.waiting import holds_for, wait_until


def test_kill_9_and_restart_store_every_reading_exactly_once(
    tmp_path: Path, db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    register(db_url, "S1", "gw1", [f"P{i:03d}" for i in range(20)])

    def config_for(port: int, batch: int = 2, window: int = 1) -> EdgeConfig:
        # Tiny messages, one at a time: the replay is slow enough to be killed in the middle.
        return edge_config(
            tmp_path,
            mqtt_broker.host,
            port,
            topic_prefix,
            [sim_driver(20, 0.05)],
            publish={"batch_max_readings": batch, "inflight_window": window, "drain_s": 10},
        )

    offline = write_yaml(tmp_path / "offline.yaml", config_for(free_port()))
    online = write_yaml(tmp_path / "online.yaml", config_for(mqtt_broker.port))
    finish = write_yaml(tmp_path / "finish.yaml", config_for(mqtt_broker.port, 500, 20))
    queue_path = config_for(mqtt_broker.port).queue.path
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix).start()
    try:
        # Only ingest confirms: the agent deletes what the database holds.
        with collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix, confirm=False) as col:
            agent = start_agent_process(offline)  # a backlog builds up, then kill -9
            wait_for_backlog(queue_path, 200)
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
            agent = start_agent_process(online)  # kill -9 again in the middle of the replay
            try:
                col.wait_for(lambda: len(col.readings()) >= 2, poll_s=0.002)
            finally:
                agent.send_signal(signal.SIGKILL)
                agent.wait(10)
            assert queue_totals(queue_path)[1] > 0, "killed after the replay ended: test too slow"
            seen_before = len(col.messages)
            agent = start_agent_process(finish)
            try:
                col.wait_for(
                    lambda: any(not m.backfill for m in col.messages[seen_before:]), timeout=30
                )
            finally:
                agent.send_signal(signal.SIGTERM)
                assert agent.wait(30) == 0
            appended, left = queue_totals(queue_path)
            assert left == 0
            wait_until(lambda: count(db_url) >= appended, 30, "every reading stored")
            # Nothing more may be stored: ingest writes a batch at most 100 ms after its first
            # reading (batch_max_age_ms), so anything still on its way lands well within this.
            holds_for(lambda: count(db_url) == appended, NOTHING_MORE_S, "no reading invented")
        assert count(db_url) == appended
        assert count(db_url, "SELECT count(*) FROM dead_letters") == 0
        assert_in_order_per_point(col)
        with psycopg.connect(db_url) as conn:
            stored = {
                (code, ts.timestamp(), v)
                for code, ts, v in conn.execute(
                    "SELECT p.code, r.ts, r.value FROM readings r"
                    " JOIN points p ON p.id = r.point_id"
                )
            }
        seen = {
            (point, datetime.fromisoformat(ts).timestamp(), v)
            for (point, ts), (v, _, _) in col.unique().items()
        }
        assert stored == seen
    finally:
        assert ingest.stop() == 0, ingest.output()
