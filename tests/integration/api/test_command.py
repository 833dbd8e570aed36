"""`energywatch api` as its own process: serves, and stops cleanly on SIGTERM or Ctrl-C; its
metrics are on a port of their own, never on the API's port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.demo.broker import free_port, port_answers
from tests.support.processes import process_tree
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]


def _command(db_url: str, port: int, metrics_port: int) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": db_url,
        "ENERGYWATCH_API__PORT": str(port),
        "ENERGYWATCH_API__METRICS_PORT": str(metrics_port),
        "ENERGYWATCH_LOG_LEVEL": "WARNING",
    }
    command = [str(REPO / ".venv/bin/energywatch"), "api"]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "energywatch", "api"]
    return command, env


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_api_command_serves_and_stops_on_a_signal(db_url: str, stop: signal.Signals) -> None:
    port, metrics_port = free_port(), free_port()
    command, env = _command(db_url, port, metrics_port)
    with process_tree(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        wait_until(
            lambda: proc.poll() is not None or port_answers("127.0.0.1", port),
            30,
            "the API to listen",
            poll_s=0.2,
        )
        assert proc.poll() is None, "the API exited"
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/sites").status_code == 401

        # Anyone who reaches the API's port gets no metrics there ...
        on_api_port = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert on_api_port.status_code == 404
        assert "energywatch_api" not in on_api_port.text
        # ... they are on the metrics port, counting the requests the API answered.
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'energywatch_api_requests_total{method="GET",route="/healthz",status="200"}' in (
            metrics
        )
        assert 'route="/api/v1/sites",status="401"' in metrics

        proc.send_signal(stop)
        assert proc.wait(timeout=15) == 0  # drained and exited, not killed by the signal
        with pytest.raises(httpx.ConnectError):  # the metrics server stopped with the API
            httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1)


def test_api_command_refuses_a_metrics_port_in_use(db_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        command, env = _command(db_url, free_port(), taken.getsockname()[1])
        done = subprocess.run(
            command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert "api.metrics_port" in done.stderr and "cannot serve metrics" in done.stderr
