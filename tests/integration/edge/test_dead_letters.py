"""A queued reading the publisher cannot encode goes to the dead letters; the queue drains.

Such a row gets into the queue when a driver lets it through (readings are checked before the
queue since, but a queue file written by an older agent may hold one): it must not block every
reading behind it, across restarts.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.queue import DurableQueue
from edge.readings import EdgeReading
from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress

YEAR_0_MS = -62_135_625_600_000 - 86_400_000  # 0000-12-31 at +08:00: no datetime can hold it
TS = 1_795_104_000_000  # 2026-11-20T00:00:00+08:00


def test_an_unencodable_reading_moves_to_the_dead_letters_and_the_queue_drains(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    driver = {"kind": "simulator", "points": [{"point": "LIVE", "profile": "gas_m3"}]}
    config = edge_config(
        tmp_path,
        mqtt_broker.host,
        mqtt_broker.port,
        topic_prefix,
        [driver],
        publish={"batch_max_readings": 3},
    )
    old = DurableQueue(config.queue.path, 1000)
    old.append(
        [EdgeReading(f"P{i}", TS + i * 1000, float(i)) for i in range(5)]
        + [EdgeReading("BAD", YEAR_0_MS, 9.0)]
        + [EdgeReading(f"P{i}", TS + i * 1000, float(i)) for i in range(5, 10)]
    )
    old.close()
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        col.wait_for(lambda: {f"P{i}" for i in range(10)} <= {p for p, *_ in col.readings()})
        col.wait_for(lambda: agent.queue.fetch_after(0, 100, max_id=11) == [])
        assert agent.metrics.dead_lettered.labels(reason="ValueError")._value.get() == 1
        (dead, reason), *others = agent.queue.dead_letters()
        assert not others
        assert (dead.point, dead.ts_ms, dead.value) == ("BAD", YEAR_0_MS, 9.0)
        assert "year" in reason and "out of range" in reason
    assert "BAD" not in {p for p, *_ in col.readings()}
    # The table is in the queue file, for whoever inspects the gateway.
    with sqlite3.connect(config.queue.path) as db:
        assert db.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)
