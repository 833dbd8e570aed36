"""Outages of a dependency: one line when it goes, one when it is back, a gauge meanwhile;
problems that name the setting and the fix."""

from __future__ import annotations

import logging

import psycopg
import pytest
from prometheus_client import CollectorRegistry

from energywatch.dependencies import Dependency, database_problem, dependency_gauge

URL = "postgresql://postgres:hunter2@db.plant:5432/energywatch"


def _up(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value("energywatch_dependency_up", {"dependency": name})


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    database = Dependency("database", logging.getLogger("test.dep"), dependency_gauge(registry))
    assert _up(registry, "database") == 1.0
    with caplog.at_level(logging.INFO, logger="test.dep"):
        for _ in range(5):  # five failed attempts
            database.down("cannot reach the database")
        assert _up(registry, "database") == 0.0
        database.up()
        database.up()
    assert [r.getMessage() for r in caplog.records] == [
        "cannot reach the database; retrying with backoff",
        "the database answers again",
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert _up(registry, "database") == 1.0


@pytest.mark.parametrize(
    ("error", "reason", "fix"),
    [
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
            "Connection refused\n\tIs the server running on that host?",
            "connection refused",
            "start PostgreSQL or set ENERGYWATCH_DATABASE__URL",
        ),
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
            'FATAL:  database "energywatch" does not exist',
            'database "energywatch" does not exist',
            "run `energywatch db upgrade` (it creates it)",
        ),
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
            'FATAL:  password authentication failed for user "postgres"',
            'password authentication failed for user "postgres"',
            "check the user and password in ENERGYWATCH_DATABASE__URL",
        ),
    ],
    ids=["refused", "missing", "password"],
)
def test_database_problem_names_setting_address_and_fix(error: str, reason: str, fix: str) -> None:
    problem = database_problem(URL, psycopg.OperationalError(error))
    assert "\n" not in problem
    assert problem.startswith(
        "cannot reach the database at postgresql://postgres:***@db.plant:5432/energywatch "
        f"(database.url, ENERGYWATCH_DATABASE__URL): {reason} — "
    )
    assert fix in problem and "hunter2" not in problem
