"""Real services for the tests: PostgreSQL and an MQTT broker.

Each is the one named by the environment (ENERGYWATCH_TEST_PG_URL, ENERGYWATCH_TEST_MQTT),
else the local default if it answers (127.0.0.1:5432, 127.0.0.1:1883), else an embedded one
started for the session (PostgreSQL from the `pgserver` wheel; Mosquitto if installed).
Every test that asks for a database gets a new one; every test that asks for a topic prefix
gets a unique one, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from benchmarks.support.databases import create_database, drop_database
from tests.support.processes import end_open_trees
from tests.support.services import BrokerAddress, find_or_start_broker, find_or_start_postgres

pytest_plugins = ["pytester", "tests.support.clock", "tests.support.skips"]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """libpq URL of a PostgreSQL server (its maintenance database)."""
    with find_or_start_postgres(os.environ.get("ENERGYWATCH_TEST_PG_URL")) as url:
        yield url


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[BrokerAddress]:
    with find_or_start_broker(os.environ.get("ENERGYWATCH_TEST_MQTT")) as address:
        yield address


@pytest.fixture
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    url = create_database(pg_server_url, f"ew_test_{uuid.uuid4().hex[:12]}")
    try:
        yield url
    finally:
        drop_database(pg_server_url, url)


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A new database with the schema migrated to head and the reference data seeded."""
    from energywatch.storage.migrate import upgrade

    upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
def topic_prefix() -> str:
    return f"ewtest/{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _processes_end_with_their_test() -> Iterator[None]:
    """Whatever a test started with tests.support.processes and did not end, ended here."""
    yield
    end_open_trees()
