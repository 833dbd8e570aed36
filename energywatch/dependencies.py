"""The database and the broker as dependencies: one-line problems that name the setting, the
address and the fix, a check before a command starts, and the up/down state of a long-running
service (logged once per change, exported as `energywatch_dependency_up{dependency}`).
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import threading

import psycopg
from prometheus_client import REGISTRY, CollectorRegistry, Gauge
from sqlalchemy.engine import make_url

from energywatch.errors import DependencyError
from energywatch.settings import MqttSettings
from energywatch.storage.engine import libpq_url

DATABASE_SETTING = "database.url, ENERGYWATCH_DATABASE__URL"
BROKER_SETTING = "mqtt.host/mqtt.port, ENERGYWATCH_MQTT__HOST/ENERGYWATCH_MQTT__PORT"
CONNECT_TIMEOUT_S = 5


def redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(libpq_url(url)).get("dbname") or "")


def _reason(error: BaseException) -> str:
    """The last clause of a libpq error's first line, e.g. `connection refused`."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    reason = re.split(r"failed: ", first)[-1]
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", reason).strip()
    return reason[:1].lower() + reason[1:]


def is_missing_database(error: BaseException) -> bool:
    return bool(re.search(r'database ".*" does not exist', str(error)))


def database_problem(url: str, error: BaseException) -> str:
    reason = _reason(error)
    if is_missing_database(error):
        fix = "run `energywatch db upgrade` (it creates it) or set ENERGYWATCH_DATABASE__URL"
    elif re.search(r"password|role .* does not exist|authentication", reason):
        fix = "check the user and password in ENERGYWATCH_DATABASE__URL"
    else:
        fix = "start PostgreSQL or set ENERGYWATCH_DATABASE__URL"
    return f"cannot reach the database at {redact(url)} ({DATABASE_SETTING}): {reason} — {fix}"


def broker_problem(mqtt: MqttSettings, reason: str) -> str:
    return (
        f"cannot reach the MQTT broker at {mqtt.host}:{mqtt.port} ({BROKER_SETTING}): {reason}"
        " — start Mosquitto or set ENERGYWATCH_MQTT__HOST and ENERGYWATCH_MQTT__PORT"
    )


def connect_database(url: str, **kwargs: object) -> psycopg.Connection:
    """A psycopg connection; a DependencyError naming the setting if there is none."""
    try:
        return psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise DependencyError(database_problem(url, exc)) from exc


def check_database(url: str) -> None:
    connect_database(url).close()


def check_broker(mqtt: MqttSettings) -> None:
    """The broker's port accepts a connection (credentials are checked by the client)."""
    try:
        socket.create_connection((mqtt.host, mqtt.port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror.lower() if exc.strerror else str(exc) or type(exc).__name__
        raise DependencyError(broker_problem(mqtt, reason)) from exc


def dependency_gauge(registry: CollectorRegistry) -> Gauge:
    """The gauge on a registry of a service's own (ingest, API)."""
    return Gauge(
        "energywatch_dependency_up",
        "1 while the dependency (database, broker) answers, 0 during an outage",
        ["dependency"],
        registry=registry,
    )


@functools.cache
def default_gauge() -> Gauge:
    """The gauge on prometheus_client's default registry (rollup, alerting), made once."""
    return dependency_gauge(REGISTRY)


class Dependency:
    """The state of one dependency of a long-running service, shared by its threads.

    An outage is logged once when it starts (one line, no traceback per retry) and once when
    it ends, however many attempts fail in between."""

    def __init__(
        self,
        name: str,
        log: logging.Logger,
        gauge: Gauge | None = None,
        retry: str = "retrying with backoff",
    ) -> None:
        self.name = name
        self._retry = retry
        self._gauge = (gauge or default_gauge()).labels(name)
        self._log = log
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._gauge.set(1)

    @property
    def problem(self) -> str | None:
        return self._problem

    def down(self, problem: str) -> None:
        with self._lock:
            if self._problem is None:
                self._log.error("%s; %s", problem, self._retry)
            self._problem = problem
            self._gauge.set(0)

    def up(self) -> None:
        with self._lock:
            if self._problem is not None:
                self._log.info("the %s answers again", self.name)
            self._problem = None
            self._gauge.set(1)
