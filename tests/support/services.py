"""Finding or starting the real PostgreSQL and MQTT broker the tests talk to."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.support.waiting import wait_until

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_listening(
    proc: subprocess.Popen[Any], *ports: int, what: str = "mosquitto", timeout: float = 10
) -> None:
    """Until `proc` listens on each of `ports` on 127.0.0.1; fails at once if it exits."""
    wait_until(
        lambda: proc.poll() is not None or all(port_answers("127.0.0.1", p) for p in ports),
        timeout,
        f"{what} to listen on {', '.join(map(str, ports))}",
    )
    assert proc.poll() is None, f"{what} exited with status {proc.returncode}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def find_or_start_postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with contextlib.suppress(psycopg.Error):
        with psycopg.connect(DEFAULT_PG_URL, connect_timeout=2):
            pass
        yield DEFAULT_PG_URL
        return
    import pgserver  # embedded server from a wheel, for machines without PostgreSQL

    datadir = tempfile.mkdtemp(prefix="ew-pg-")
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        server = pgserver.get_server(datadir, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextlib.contextmanager
def find_or_start_broker(spec: str | None) -> Iterator[BrokerAddress]:
    if spec:
        host, _, port = spec.rpartition(":")
        yield BrokerAddress(host or "127.0.0.1", int(port))
        return
    if port_answers("127.0.0.1", 1883):
        yield BrokerAddress("127.0.0.1", 1883)
        return
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not shutil.which(mosquitto):
        raise RuntimeError(
            "no MQTT broker answers on 127.0.0.1:1883 and mosquitto is not installed"
        )
    with start_mosquitto(mosquitto) as address:
        yield address


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


def dynsec_plugin() -> Path | None:
    """Mosquitto's dynamic security plugin: Debian's path, or the official image's."""
    for candidate in (
        "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/mosquitto_dynamic_security.so",
    ):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_dbname(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
