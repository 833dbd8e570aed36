"""The real services a browser test talks to, each in its own process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from services.demo.broker import free_port, port_answers
from tests.support.processes import process_tree
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
STARTUP_S = 30


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


def _started(
    process: subprocess.Popen[bytes], log: Path, what: str, ready: Callable[[], bool]
) -> None:
    """Wait until `ready()`; fail with the service's log if it exits or does not get there."""
    wait_until(
        lambda: process.poll() is not None or ready(),
        STARTUP_S,
        f"{what} to come up",
        poll_s=0.2,
        detail=lambda: f"its log:\n{log.read_text()[-4000:]}",
    )
    if process.poll() is not None:
        raise RuntimeError(f"{what} exited on start; its log:\n{log.read_text()[-4000:]}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _text(url: str) -> str:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return ""


@contextlib.contextmanager
def running_api(db_url: str, log_dir: Path, port: int | None = None, **env: str) -> Iterator[str]:
    """uvicorn serving the real app factory on `port` (default: a free one), with extra
    ENERGYWATCH_* variables `env`; answers its base URL."""
    port = port or free_port()
    log = log_dir / "api.log"
    base = f"http://127.0.0.1:{port}"
    with _logged_tree(
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
        service_env(db_url, ENERGYWATCH_API__STREAM_POLL_S="0.5", **env),
        log,
        "ab",
    ) as process:
        _started(process, log, "the API", lambda: _answers(f"{base}/healthz"))
        yield base


@contextlib.contextmanager
def running_ingest(
    db_url: str, broker: BrokerAddress, topic_prefix: str, log_dir: Path
) -> Iterator[None]:
    """The real ingest service (`energywatch ingest`) on the test's own topic prefix."""
    log = log_dir / "ingest.log"
    metrics_port = free_port()
    env = service_env(
        db_url,
        ENERGYWATCH_MQTT__HOST=broker.host,
        ENERGYWATCH_MQTT__PORT=str(broker.port),
        ENERGYWATCH_MQTT__TOPIC_PREFIX=topic_prefix,
        ENERGYWATCH_INGEST__CLIENT_ID=f"e2e-ingest-{topic_prefix.rsplit('/', 1)[-1]}",
        ENERGYWATCH_INGEST__METRICS_PORT=str(metrics_port),
        ENERGYWATCH_INGEST__BATCH_MAX_AGE_MS="50",
    )
    # Up once subscribed: a reading published before that would find no one to read it.
    connected = f"http://127.0.0.1:{metrics_port}/metrics"
    with _running_command(
        "ingest", env, log, lambda: "ingest_mqtt_connected 1.0" in _text(connected)
    ):
        yield


@contextlib.contextmanager
def running_alerting(db_url: str, rules_dir: Path, log_dir: Path) -> Iterator[None]:
    """The real alerting service (`energywatch alerting`) with the test's rules only."""
    log = log_dir / "alerting.log"
    metrics_port = free_port()
    env = service_env(
        db_url,
        ENERGYWATCH_ALERTING__RULES_DIR=str(rules_dir),
        ENERGYWATCH_ALERTING__DEFAULT_RULES="false",
        ENERGYWATCH_ALERTING__INTERVAL_S="1",
        ENERGYWATCH_ALERTING__METRICS_PORT=str(metrics_port),
    )
    with _running_command("alerting", env, log, lambda: port_answers("127.0.0.1", metrics_port)):
        yield


@contextlib.contextmanager
def running_alerting_rules(db_url: str, rules: str, work_dir: Path) -> Iterator[None]:
    """The real alerting service with the rules of one YAML text (written under work_dir)."""
    rules_dir = work_dir / "rules"
    rules_dir.mkdir()
    (rules_dir / "e2e.yaml").write_text(rules, encoding="utf-8")
    with running_alerting(db_url, rules_dir, work_dir):
        yield


@contextlib.contextmanager
def _running_command(
    command: str, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[None]:
    """`energywatch COMMAND` as a child process, its output in `log`, up once `ready()`,
    ended with all it started on exit."""
    with _logged_tree([str(VENV_BIN / "energywatch"), command], env, log, "wb") as process:
        _started(process, log, command, ready)
        yield


@contextlib.contextmanager
def _logged_tree(
    argv: list[str], env: dict[str, str], log: Path, mode: str
) -> Iterator[subprocess.Popen[bytes]]:
    with (
        log.open(mode) as out,
        process_tree(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT) as process,
    ):
        yield process
