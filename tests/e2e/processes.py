"""The real services a browser test talks to, each in its own process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.services import BrokerAddress, free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def service_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGYWATCH_")}
    env.update(
        {
            "ENERGYWATCH_DEMO": "1",
            "ENERGYWATCH_DATABASE__URL": db_url,
            "ENERGYWATCH_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _fail(process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    _stop(process, log)
    raise RuntimeError(f"{what} did not come up; its log:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def running_api(db_url: str, log_dir: Path, port: int | None = None, **env: str) -> Iterator[str]:
    """uvicorn serving the real app factory on `port` (default: a free one), with extra
    ENERGYWATCH_* variables `env`; answers its base URL."""
    port = port or free_port()
    log = log_dir / "api.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                str(VENV_BIN / "python"),
                "-m",
                "uvicorn",
                "tests.e2e.serve_api:app_from_env",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "2",
            ],
            cwd=REPO,
            env=service_env(db_url, ENERGYWATCH_API__STREAM_POLL_S="0.5", **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                _fail(process, log, "the API")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                _fail(process, log, "the API")
            time.sleep(0.2)
        yield base
    finally:
        _stop(process, log)


@contextlib.contextmanager
def running_ingest(
    db_url: str, broker: BrokerAddress, topic_prefix: str, log_dir: Path
) -> Iterator[None]:
    """The real ingest service (`energywatch ingest`) on the test's own topic prefix."""
    log = log_dir / "ingest.log"
    env = service_env(
        db_url,
        ENERGYWATCH_MQTT__HOST=broker.host,
        ENERGYWATCH_MQTT__PORT=str(broker.port),
        ENERGYWATCH_MQTT__TOPIC_PREFIX=topic_prefix,
        ENERGYWATCH_INGEST__CLIENT_ID=f"e2e-ingest-{topic_prefix.rsplit('/', 1)[-1]}",
        ENERGYWATCH_INGEST__METRICS_PORT=str(free_port()),
        ENERGYWATCH_INGEST__BATCH_MAX_AGE_MS="50",
    )
    with _running_command("ingest", env, log):
        yield


@contextlib.contextmanager
def running_alerting(db_url: str, rules_dir: Path, log_dir: Path) -> Iterator[None]:
    """The real alerting service (`energywatch alerting`) with the test's rules only."""
    log = log_dir / "alerting.log"
    env = service_env(
        db_url,
        ENERGYWATCH_ALERTING__RULES_DIR=str(rules_dir),
        ENERGYWATCH_ALERTING__DEFAULT_RULES="false",
        ENERGYWATCH_ALERTING__INTERVAL_S="1",
        ENERGYWATCH_ALERTING__METRICS_PORT=str(free_port()),
    )
    with _running_command("alerting", env, log):
        yield


@contextlib.contextmanager
def _running_command(command: str, env: dict[str, str], log: Path) -> Iterator[None]:
    """`energywatch COMMAND` as a child process, its output in `log`, stopped on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "energywatch"), command],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(0.5)
        if process.poll() is not None:
            _fail(process, log, command)
        yield
    finally:
        _stop(process, log)
