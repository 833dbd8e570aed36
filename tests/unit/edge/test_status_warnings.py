from __future__ import annotations

from pathlib import Path

from edge.config import EdgeConfig
from edge.metrics import EdgeMetrics
from edge.publisher import Publisher
from edge.queue import DurableQueue
from edge.readings import EdgeReading


def test_warning_at_80_percent_and_after_drops(tmp_path: Path) -> None:
    config = EdgeConfig.model_validate(
        {
            "site": "S1",
            "device": "gw1",
            "drivers": [{"kind": "simulator", "points": [{"point": "E", "profile": "gas_m3"}]}],
        }
    )
    q = DurableQueue(tmp_path / "q.sqlite", capacity=100)
    publisher = Publisher(config, q, EdgeMetrics())
    q.append([EdgeReading("E", i, 1.0) for i in range(79)])
    assert publisher.warnings() == []
    q.append([EdgeReading("E", 100 + i, 1.0) for i in range(2)])
    assert publisher.warnings() == ["queue 81% full (capacity 100 readings)"]
    q.append([EdgeReading("E", 200 + i, 1.0) for i in range(30)])
    assert publisher.warnings() == [
        "queue 100% full (capacity 100 readings)",
        "queue full: 11 oldest readings dropped",
    ]
