"""A wrong database URL or an absent broker: one line naming the setting, the address and the
fix; long-running services keep retrying and report the outage on /metrics (and /healthz)."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from benchmarks.support.databases import drop_database
from services.demo.broker import free_port
from tests.support.cli import clean_env, read_until, run_energywatch, start_energywatch


def _nothing_listens() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/energywatch"


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade"],
        ["db", "current"],
        ["db", "downgrade", "base"],
        ["rollup", "--once"],
        ["alerting", "--once"],
        ["registry", "import", "tests/data/registry/valid.yaml"],
        ["mqtt", "acl", "--out", "/nonexistent"],
        ["users", "list"],
        ["users", "disable", "nobody"],
        ["users", "add", "ann", "--role", "admin", "--password", "long enough"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_unreachable_database_is_one_line_naming_the_setting(args: list[str]) -> None:
    url = _nothing_listens()
    done = run_energywatch(
        *args, env=clean_env(ENERGYWATCH_DEMO="1", ENERGYWATCH_DATABASE__URL=url)
    )
    line = _one_error_line(done)
    assert f"cannot reach the database at {url}" in line
    assert "(database.url, ENERGYWATCH_DATABASE__URL): connection refused" in line
    assert "start PostgreSQL or set ENERGYWATCH_DATABASE__URL" in line


def test_missing_database_names_the_step_that_creates_it(pg_server_url: str) -> None:
    url = pg_server_url.rsplit("/", 1)[0] + f"/ew_missing_{uuid.uuid4().hex[:8]}"
    done = run_energywatch("db", "current", env=clean_env(ENERGYWATCH_DATABASE__URL=url))
    line = _one_error_line(done)
    assert "does not exist" in line and "energywatch db upgrade" in line


def test_db_upgrade_creates_a_missing_database(pg_server_url: str) -> None:
    url = pg_server_url.rsplit("/", 1)[0] + f"/ew_created_{uuid.uuid4().hex[:8]}"
    env = clean_env(ENERGYWATCH_DATABASE__URL=url)  # no API or webhook secret: not needed here
    try:
        done = run_energywatch("db", "upgrade", env=env)
        assert done.returncode == 0, done.stderr
        assert "created the database" in done.stdout
        assert run_energywatch("db", "current", env=env).returncode == 0
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM measures").fetchone() != (0,)
    finally:
        drop_database(pg_server_url, url)


def _gauge(port: int, path: str = "/metrics") -> dict[str, float]:
    """energywatch_dependency_up by dependency, from a metrics endpoint."""
    text = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).text
    values = {}
    for line in text.splitlines():
        if line.startswith("energywatch_dependency_up{"):
            name = line.split('dependency="', 1)[1].split('"', 1)[0]
            values[name] = float(line.rsplit(" ", 1)[1])
    return values


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rest


def _count(lines: list[str], text: str) -> int:
    return sum(text in line for line in lines)


def test_ingest_logs_each_outage_once_and_reports_it_on_metrics() -> None:
    url, metrics, mqtt_port = _nothing_listens(), free_port(), free_port()
    env = clean_env(
        ENERGYWATCH_DEMO="1",
        ENERGYWATCH_DATABASE__URL=url,
        ENERGYWATCH_MQTT__PORT=str(mqtt_port),
        ENERGYWATCH_INGEST__METRICS_PORT=str(metrics),
        ENERGYWATCH_INGEST__RECONNECT_MIN_S="0.1",
        ENERGYWATCH_INGEST__RECONNECT_MAX_S="0.2",
    )
    proc = start_energywatch("ingest", env=env)
    try:
        assert proc.stderr is not None
        lines = read_until(
            proc.stderr,
            lambda seen: (
                _count(seen, "cannot reach the database") >= 1
                and _count(seen, "cannot reach the MQTT broker") >= 1
            ),
        )
        assert f"cannot reach the database at {url} (database.url" in "".join(lines)
        assert f"127.0.0.1:{mqtt_port} (mqtt.host/mqtt.port" in "".join(lines)
        assert _gauge(metrics) == {"database": 0.0, "broker": 0.0}
    finally:
        lines_after = _stop(proc)
    everything = "".join(lines) + lines_after
    assert _count(everything.splitlines(), "cannot reach the database") == 1, everything
    assert _count(everything.splitlines(), "cannot reach the MQTT broker") == 1, everything
    assert "Traceback" not in everything


def test_api_says_at_start_that_the_database_is_away() -> None:
    url, port, metrics_port = _nothing_listens(), free_port(), free_port()
    env = clean_env(
        ENERGYWATCH_DEMO="1",
        ENERGYWATCH_DATABASE__URL=url,
        ENERGYWATCH_API__PORT=str(port),
        ENERGYWATCH_API__METRICS_PORT=str(metrics_port),
    )
    proc = start_energywatch("api", env=env)
    try:
        assert proc.stderr is not None
        lines = read_until(proc.stderr, lambda seen: _count(seen, "Uvicorn running") == 1)
        assert _count(lines, f"cannot reach the database at {url} (database.url") == 1
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 503
        assert _gauge(metrics_port) == {"database": 0.0}
    finally:
        rest = _stop(proc)
    assert "Traceback" not in rest


@pytest.mark.parametrize("service", ["rollup", "alerting"])
def test_services_log_the_outage_once_and_report_it(service: str, tmp_path: Path) -> None:
    url = _nothing_listens()
    ports = {"metrics": free_port()}
    env = clean_env(
        ENERGYWATCH_DEMO="1",
        ENERGYWATCH_DATABASE__URL=url,
        ENERGYWATCH_ROLLUP__METRICS_PORT=str(ports["metrics"]),
        ENERGYWATCH_ROLLUP__INTERVAL_S="0.1",
        ENERGYWATCH_ALERTING__METRICS_PORT=str(ports["metrics"]),
    )
    proc = start_energywatch(service, env=env)
    try:
        assert proc.stderr is not None
        lines = read_until(proc.stderr, lambda seen: _count(seen, "cannot reach the database") >= 1)
        assert f"at {url} (database.url, ENERGYWATCH_DATABASE__URL)" in "".join(lines)
        assert _gauge(ports["metrics"]) == {"database": 0.0}
    finally:
        rest = _stop(proc)
    assert "Traceback" not in "".join(lines) + rest


def test_db_upgrade_says_how_when_the_user_may_not_create_the_database(
    pg_server_url: str,
) -> None:
    role = f"ew_nocreate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    try:
        server = psycopg.conninfo.conninfo_to_dict(pg_server_url)
        url = f"postgresql://{role}@{server['host']}:{server['port']}/ew_refused_{role[-8:]}"
        done = run_energywatch("db", "upgrade", env=clean_env(ENERGYWATCH_DATABASE__URL=url))
        line = _one_error_line(done)
        assert f"database ew_refused_{role[-8:]} does not exist and cannot be created" in line
        assert f'CREATE DATABASE "ew_refused_{role[-8:]}"' in line
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_rollup_reconnects_when_the_database_appears(pg_server_url: str) -> None:
    from energywatch.storage.migrate import upgrade

    url = pg_server_url.rsplit("/", 1)[0] + f"/ew_later_{uuid.uuid4().hex[:8]}"
    metrics = free_port()
    env = clean_env(
        ENERGYWATCH_DEMO="1",
        ENERGYWATCH_DATABASE__URL=url,
        ENERGYWATCH_ROLLUP__METRICS_PORT=str(metrics),
        ENERGYWATCH_ROLLUP__INTERVAL_S="0.1",
    )
    proc = start_energywatch("rollup", env=env)
    try:
        assert proc.stderr is not None
        lines = read_until(proc.stderr, lambda seen: _count(seen, "does not exist") == 1)
        assert _gauge(metrics) == {"database": 0.0}
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
        upgrade(url)
        lines += read_until(proc.stderr, lambda seen: _count(seen, "answers again") == 1)
        assert _gauge(metrics) == {"database": 1.0}
    finally:
        rest = _stop(proc)
        drop_database(pg_server_url, url)
    assert _count([*lines, *rest.splitlines()], "cannot reach the database") == 1
