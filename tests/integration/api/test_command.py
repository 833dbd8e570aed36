"""`energywatch api` as its own process: serves, and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port

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
    proc = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the API exited"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the API did not answer"
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/sites").status_code == 401
        proc.send_signal(stop)
        assert proc.wait(timeout=15) == 0  # drained and exited, not killed by the signal
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
