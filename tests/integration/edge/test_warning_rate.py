"""Repeated warnings are logged once an interval with a count, not once per event: a broker
away for a while and a logger sending garbage must not fill the gateway's disk."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from services.demo.broker import free_port
from tests.integration.edge.hj212_packets import connect, station_config
from tests.integration.edge.support import running_agent


def test_reconnect_and_refusal_warnings_are_rate_limited(
    tmp_path: Path, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    points = [{"point": "SO2", "code": "a21026", "cn": 2011}]
    config = station_config(
        tmp_path,
        "127.0.0.1",
        free_port(),  # no broker: every attempt fails
        topic_prefix,
        points,
        publish={"reconnect_min_s": 0.05, "reconnect_max_s": 0.05},
    )
    with caplog.at_level(logging.WARNING, logger="edge"), running_agent(config) as agent:
        with connect(agent) as conn:
            for _ in range(50):
                conn.sendall(b"##ab\r\n")  # a header without its length
        m = agent.metrics
        deadline = time.monotonic() + 20
        while (m.refused("hj212") < 50 or m.connect_failures._value.get() < 10) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
        assert m.connect_failures._value.get() >= 10
        assert m.refused("hj212", "length") == 50  # every refusal is counted ...
    messages = [r.getMessage() for r in caplog.records]
    # ... and each kind logged once in the minute.
    assert sum("cannot connect" in t for t in messages) == 1
    assert sum("frame refused (length)" in t for t in messages) == 1
