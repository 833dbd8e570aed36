"""The agent with the simulator driver against the real broker."""

from __future__ import annotations

from pathlib import Path

from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress


def sim_driver(n_points: int, interval_s: float, **point: object) -> dict[str, object]:
    return {
        "kind": "simulator",
        "seed": 3,
        "points": [
            {"point": f"E{i:02d}", "profile": "electricity_kwh", "interval_s": interval_s, **point}
            for i in range(n_points)
        ],
    }


def test_live_readings_reach_a_subscriber_in_order(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    config = edge_config(
        tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [sim_driver(5, 0.1)]
    )
    with collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col:
        with running_agent(config) as agent:
            col.wait_for(lambda: len(col.readings()) >= 50)
            assert agent.publisher.connected.is_set()
        seqs = [m.seq for m in col.messages]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert not any(m.backfill for m in col.messages)
        for i in range(5):
            ts = [t for p, t, *_ in col.readings() if p == f"E{i:02d}"]
            assert ts == sorted(ts) and len(ts) >= 5
        states = [s.state for s in col.statuses]
        assert states[0] == "online" and states[-1] == "offline"
