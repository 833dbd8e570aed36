"""Finding or starting the real PostgreSQL and MQTT broker the tests talk to."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg

# BrokerAddress (the type of the `mqtt_broker` fixture) is imported by the tests from here.
from benchmarks.support.network import BrokerAddress, start_mosquitto
from services.demo.broker import port_answers

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


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
