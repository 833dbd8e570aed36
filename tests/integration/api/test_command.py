"""`energywatch api` as its own process: serves, and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.processes import process_tree
from tests.support.services import free_port, port_answers
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_api_command_serves_and_stops_on_a_signal(db_url: str, stop: signal.Signals) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": db_url,
        "ENERGYWATCH_API__PORT": str(port),
        "ENERGYWATCH_LOG_LEVEL": "WARNING",
    }
    command = [str(REPO / ".venv/bin/energywatch"), "api"]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "energywatch", "api"]
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
        proc.send_signal(stop)
        assert proc.wait(timeout=15) == 0  # drained and exited, not killed by the signal
