"""Waiting for a port, and a private Mosquitto, for tests and benchmarks that start their own
services."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.demo.broker import free_port, port_answers


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int


def wait_listening(
    proc: subprocess.Popen[Any], *ports: int, what: str = "mosquitto", timeout: float = 10
) -> None:
    """Until `proc` listens on each of `ports` on 127.0.0.1; fails at once if it exits, and
    with an AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not all(port_answers("127.0.0.1", p) for p in ports):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}"
                f" to listen on {', '.join(map(str, ports))}"
            )
        time.sleep(0.05)
    assert proc.poll() is None, f"{what} exited with status {proc.returncode}"


@contextlib.contextmanager
def start_mosquitto(binary: str = "mosquitto", port: int | None = None) -> Iterator[BrokerAddress]:
    """A private Mosquitto on a free port (also used by tests that stop the broker)."""
    port = port or free_port()
    confdir = tempfile.mkdtemp(prefix="ew-mqtt-")
    conf = f"{confdir}/mosquitto.conf"
    with open(conf, "w") as f:
        f.write(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {confdir}/\nmax_queued_messages 1000000\n"
        )
    proc = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(proc, port)
        yield BrokerAddress("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(confdir, ignore_errors=True)
