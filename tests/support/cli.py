"""The real `energywatch` command as a subprocess, with only the settings a test gives it."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]


def energywatch_command() -> list[str]:
    script = REPO / ".venv/bin/energywatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "energywatch"]


def clean_env(**settings: str) -> dict[str, str]:
    """The test's environment without any ENERGYWATCH_* of its own, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGYWATCH_")}
    return {**env, **settings}


def run_energywatch(
    *args: str, env: dict[str, str], timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*energywatch_command(), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


def start_energywatch(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*energywatch_command(), *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(
    stream: IO[str], done: Callable[[list[str]], bool], timeout_s: float = 30
) -> list[str]:
    """Lines of `stream` until `done(lines)` holds; fails after `timeout_s`."""
    lines: list[str] = []
    pending = b""
    deadline = time.monotonic() + timeout_s
    while not done(lines):
        left = deadline - time.monotonic()
        assert left > 0, "waited in vain; got:\n" + "".join(lines)
        ready, _, _ = select.select([stream.fileno()], [], [], min(left, 0.5))
        if not ready:
            continue
        chunk = os.read(stream.fileno(), 65536)
        assert chunk, "the process ended; got:\n" + "".join(lines)
        pending += chunk
        *complete, pending = pending.split(b"\n")
        lines += [line.decode() + "\n" for line in complete]
    return lines
