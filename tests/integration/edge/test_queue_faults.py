"""The real agent, a real Mosquitto and real queue files that fail: a full disk (a real
tmpfs), a damaged file, a deleted WAL or an emptied file. Collection never stops, nothing is
silent, nothing is sent in a loop, and the agent recovers with no manual step."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from edge.config import EdgeConfig
from edge.queue import DurableQueue
from edge.readings import EdgeReading
from services.demo.broker import free_port
from tests.integration.edge.support import (
    collecting,
    durable_collector,
    edge_config,
    persistent_mosquitto,
    queue_totals,
    running_agent,
    wait_until,
    write_yaml,
)
from tests.integration.edge.test_fault_tolerance import sim_driver, start_agent_process
from tests.support.disk import fill, small_disk
from tests.support.services import BrokerAddress
from tests.unit.edge.test_queue_damaged import garbage_page, truncate_half

PAGE = 4096


def metric(agent_metrics: object, name: str, **labels: str) -> float:
    value = agent_metrics.registry.get_sample_value(name, labels)  # type: ignore[attr-defined]
    assert value is not None, name
    return float(value)


def test_full_disk_counts_what_it_refuses_sends_each_reading_once_and_recovers(
    tmp_path: Path, topic_prefix: str
) -> None:
    port = free_port()  # no broker yet: a backlog builds up
    broker_dir = tmp_path / "broker"
    subscriber = f"sub-{topic_prefix[-10:]}"
    with (
        persistent_mosquitto(port, broker_dir),
        durable_collector("127.0.0.1", port, topic_prefix, subscriber),
    ):
        pass  # a persistent session: the broker keeps what arrives while the test is away
    with small_disk(tmp_path / "disk", "2m") as disk:
        config = edge_config(
            disk,
            "127.0.0.1",
            port,
            topic_prefix,
            [sim_driver(40, 0.05)],
            publish={"batch_max_readings": 2000},
        )
        with running_agent(config) as agent:
            q = agent.queue
            wait_until(
                lambda: q.depth >= 2000, 20, "a backlog of 2,000", detail=lambda: f"depth {q.depth}"
            )
            # Filled while the queue is between writes: an append racing the filler for the
            # last pages could leave a frame of WAL allocated, room for a small delete later.
            with q._lock:
                filler = fill(disk)
            wait_until(
                lambda: q.disk_full and q.dropped_by_reason["disk_full"] > 0, 20, "a full disk"
            )
            backlog = q.depth
            with (
                persistent_mosquitto(port, broker_dir),
                durable_collector("127.0.0.1", port, topic_prefix, subscriber) as first,
            ):
                # The backlog goes out. The disk refuses its delete in nearly every run (the
                # unit test makes sure of it); rarely SQLite finds room for it.
                first.wait_for(lambda: len(first.unique()) >= backlog)
                wait_until(lambda: q.depth < backlog, 20, "the backlog to drain")
                refused_delete = q.pending_deletes > 0
                assert len(first.readings()) == len(first.unique())
            # The broker restarts: the agent reconnects and must not send the backlog again.
            with (
                persistent_mosquitto(port, broker_dir),
                durable_collector("127.0.0.1", port, topic_prefix, subscriber) as col,
            ):
                wait_until(
                    lambda: metric(agent.metrics, "edge_mqtt_connects_total") >= 2,
                    20,
                    "a reconnect",
                )
                # Statuses follow the growing drop count (at most one a second): a few of
                # them is a few seconds in which the backlog would have been re-sent.
                col.wait_for(lambda: len(col.statuses) >= 4)
                assert col.readings() == [], "delivered readings were sent again"
                status = col.statuses[-1]
                refused = status.queue_dropped_by_reason["disk_full"]  # type: ignore[index]
                assert refused > 0 and status.queue_dropped == refused
                assert any("readings could not be stored" in w for w in status.warnings)
                assert any("disk full now" in w for w in status.warnings)
                if refused_delete:
                    assert any("delivered readings wait" in w for w in status.warnings)
                assert metric(agent.metrics, "edge_queue_disk_full") == 1
                assert metric(agent.metrics, "edge_queue_dropped", reason="disk_full") > 0

                filler.unlink()  # space is back: no restart, no manual step
                wait_until(
                    lambda: not q.disk_full and q.pending_deletes == 0, 20, "the disk to recover"
                )
                # New readings are stored and delivered again, none of the old ones.
                col.wait_for(lambda: len(col.unique()) >= 400)
                assert not set(col.unique()) & set(first.unique())
                col.wait_for(
                    lambda: all("disk full now" not in w for w in col.statuses[-1].warnings)
                )
                assert metric(agent.metrics, "edge_queue_pending_deletes") == 0
        assert queue_totals(config.queue.path)[1] < backlog  # the delivered rows were deleted


def damaged_queue(path: Path, damage: object) -> int:
    """A queue file of 20,000 readings of point E01, then damaged; the readings written."""
    q = DurableQueue(path, capacity=1_000_000)
    for start in range(0, 20_000, 1000):
        q.append(
            [EdgeReading("E01", 1_795_000_000_000 + (start + i) * 1000, 1.0) for i in range(1000)]
        )
    q.close()
    damage(path, (path.stat().st_size // PAGE) // 2)  # type: ignore[operator]
    return 20_000


@pytest.mark.parametrize("damage", [garbage_page, truncate_half], ids=["garbage", "truncated"])
def test_damaged_queue_file_is_salvaged_reported_and_collection_goes_on(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str, damage: object
) -> None:
    config = edge_config(
        tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [sim_driver(5, 0.1)]
    )
    written = damaged_queue(config.queue.path, damage)
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        salvaged = agent.queue.salvaged
        assert 0 < salvaged < written
        # The salvaged readings are delivered, and new ones are read and delivered too.
        col.wait_for(lambda: sum(p == "E01" for p, _ in col.unique()) >= salvaged)
        col.wait_for(lambda: sum(p != "E01" for p, _ in col.unique()) >= 50)
        status = next(s for s in col.statuses if s.state == "online")
        [warning] = [w for w in status.warnings if "queue file damaged" in w]
        assert f"{salvaged} readings salvaged" in warning and ".corrupt-" in warning
        assert metric(agent.metrics, "edge_queue_incidents", kind="corrupt") == 1
        assert metric(agent.metrics, "edge_queue_salvaged") == salvaged
    assert list(tmp_path.glob("queue.sqlite.corrupt-*"))


def online_config(tmp_path: Path, broker: BrokerAddress, prefix: str) -> EdgeConfig:
    return edge_config(tmp_path, broker.host, broker.port, prefix, [sim_driver(10, 0.05)])


@pytest.mark.parametrize("loss", ["wal_deleted", "file_emptied"])
def test_lost_wal_or_emptied_file_after_kill_is_reported_and_seq_goes_on(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str, loss: str
) -> None:
    config = online_config(tmp_path, mqtt_broker, topic_prefix)
    path = config.queue.path
    with collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col:
        process = start_agent_process(write_yaml(tmp_path / "edge.yaml", config))
        try:
            col.wait_for(lambda: len(col.messages) >= 5)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        last_seq = max(m.seq for m in col.messages)
        if loss == "wal_deleted":
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink()
        else:
            os.truncate(path, 0)
        before = len(col.messages)
        with running_agent(config) as agent:
            col.wait_for(lambda: len(col.messages) > before)
            assert min(m.seq for m in col.messages[before:]) > last_seq
            kind = "wal_missing" if loss == "wal_deleted" else "file_empty"
            assert metric(agent.metrics, "edge_queue_incidents", kind=kind) == 1
            col.wait_for(lambda: bool(col.statuses) and col.statuses[-1].state == "online")
            words = (
                "write-ahead log queue.sqlite-wal is missing"
                if loss == "wal_deleted"
                else "is empty (zero length): "  # and what its WAL held was read back
            )
            [warning] = [w for w in col.statuses[-1].warnings if words in w]
            if loss == "file_emptied":
                assert "readings recovered from its write-ahead log" in warning
