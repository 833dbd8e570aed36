"""`energywatch demo` as a user runs it: readings flow, the scripted breach fires an alert,
the dashboard answers, and Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psycopg
import pytest

from services.demo.broker import free_port
from tests.support.processes import process_tree
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 45
ALERT_TIMEOUT_S = 60


class Output:
    """Collects the demo's stdout in a thread, so the test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float) -> bool:
        try:
            wait_until(lambda: any(text in line for line in self.lines), timeout_s, text)
        except AssertionError:
            return False
        return True

    def close(self) -> None:
        """After the process tree has ended: the rest of the output, then the pipe closed."""
        self._thread.join(timeout=10)
        self._stream.close()

    def text(self) -> str:
        return "\n".join(self.lines)


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def test_demo_runs_fires_the_scripted_breach_and_stops_on_ctrl_c(
    empty_db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, tmp_path: Path
) -> None:
    api_port = free_port()
    env = {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": empty_db_url,
        "ENERGYWATCH_MQTT__HOST": mqtt_broker.host,
        "ENERGYWATCH_MQTT__PORT": str(mqtt_broker.port),
        "ENERGYWATCH_MQTT__TOPIC_PREFIX": topic_prefix,
        "ENERGYWATCH_API__PORT": str(api_port),
    }
    out: Output | None = None
    try:
        # The demo starts its services in their own sessions: process_tree ends them all, even
        # when a check below fails and the demo never gets its Ctrl-C.
        with process_tree(
            [sys.executable, "-m", "energywatch", "demo", "--data-dir", str(tmp_path / "demo")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            out = Output(proc)
            _demo_runs_and_stops(proc, out, empty_db_url, api_port)
    finally:
        if out is not None:
            out.close()
    # Nothing is left running: the API's port is free again.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=2)


def _demo_runs_and_stops(
    proc: subprocess.Popen[str], out: Output, db_url: str, api_port: int
) -> None:
    assert out.wait_for("EnergyWatch demo is running.", START_TIMEOUT_S), out.text()
    assert f"http://127.0.0.1:{api_port}/" in out.text()
    assert "operator / demo-operator" in out.text()
    assert "regulator / demo-regulator" in out.text()
    assert httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=5).status_code == 200

    # The scripted breach: the stack's SO2 alert fires (readings flowed to get there).
    fired = (
        "SELECT count(*) FROM alerts WHERE rule = 'demo.so2_stack_trip' "
        "AND subject = 'point:TY-CEMS-01/SO2' AND fired_at IS NOT NULL"
    )
    wait_until(
        lambda: _count(db_url, fired) > 0 or proc.poll() is not None,
        ALERT_TIMEOUT_S,
        "the scripted alert",
        poll_s=1,
        detail=out.text,
    )
    assert proc.poll() is None, out.text()
    assert out.wait_for("ALERT critical: demo.so2_stack_trip on point:TY-CEMS-01/SO2", 10)

    # Readings of every kind of site reached the database through MQTT and ingest.
    sites_with_readings = _count(
        db_url,
        "SELECT count(DISTINCT p.site_id) FROM readings r JOIN points p ON p.id = r.point_id",
    )
    assert sites_with_readings >= 20, f"only {sites_with_readings} sites have readings"
    ambient = _count(
        db_url,
        "SELECT count(*) FROM readings r JOIN points p ON p.id = r.point_id "
        "WHERE p.role = 'ambient'",
    )
    assert ambient > 0, "no ambient GHG reading arrived over HJ 212"

    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert proc.wait(timeout=40) == 0, out.text()
    assert out.wait_for("EnergyWatch demo stopped.", 5), out.text()
