"""Nothing lost across a broker restart while ingest is down (issue 14, item 1).

Mosquitto restores ingest's persistent session after a restart but not its shared
subscription: until ingest subscribes again, the broker acknowledges the agents' readings and
drops them. An agent that deleted on PUBACK lost them; it now deletes on ingest's confirmation
of the commit, and re-sends what stays unconfirmed.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from benchmarks.support.registry_rows import register
from services.demo.broker import free_port
from tests.integration.edge.support import (
    PrivateBroker,
    collecting,
    edge_config,
    queue_totals,
    write_yaml,
)
from tests.integration.edge.test_fault_tolerance import sim_driver, start_agent_process
from tests.integration.ingest.harness import IngestProcess, count
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until


@pytest.mark.parametrize("kill", [False, True], ids=["clean-restart", "kill-9"])
def test_broker_restart_with_ingest_down_stores_every_reading_once(
    tmp_path: Path, db_url: str, topic_prefix: str, kill: bool
) -> None:
    register(db_url, "S1", "gw1", [f"P{i:03d}" for i in range(10)])
    port = free_port()
    broker = PrivateBroker(port, tmp_path / "broker").start()
    ingest = IngestProcess(db_url, BrokerAddress("127.0.0.1", port), topic_prefix)
    config = edge_config(
        tmp_path,
        "127.0.0.1",
        port,
        topic_prefix,
        [sim_driver(10, 0.05)],  # 200 readings/s
        publish={"batch_max_readings": 50, "confirm_timeout_s": 2, "drain_s": 20},
    )
    agent = start_agent_process(write_yaml(tmp_path / "agent.yaml", config))
    try:
        ingest.start()  # its persistent session and shared subscription exist at the broker
        ingest.kill()  # ingest down: the broker queues the readings for its session
        wait_until(lambda: queue_totals(config.queue.path)[0] >= 400, 30, "a backlog")
        broker.stop(kill=kill)
        broker.start()
        # The broker now acknowledges readings that no subscriber gets; a monitor sees them go.
        with collecting("127.0.0.1", port, topic_prefix, confirm=False) as monitor:
            monitor.wait_for(lambda: len(monitor.readings()) >= 100, timeout=30)
        assert count(db_url) == 0
        ingest.start()
        appended_now = queue_totals(config.queue.path)[0]
        wait_until(lambda: count(db_url) >= appended_now, 60, "the backlog stored")
    finally:
        agent.send_signal(signal.SIGTERM)  # drains what is queued, then exits
        agent_status = agent.wait(40)
        ingest.stop()
        broker.stop()
    appended, left = queue_totals(config.queue.path)
    assert agent_status == 0
    assert left == 0
    assert count(db_url) == appended
    assert count(db_url, "SELECT count(*) FROM dead_letters") == 0
