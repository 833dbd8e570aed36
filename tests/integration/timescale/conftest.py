"""A real TimescaleDB server for the tests of this folder, named by ENERGYWATCH_TEST_TIMESCALE_URL
(e.g. postgresql://postgres@127.0.0.1:5433/postgres, with timescaledb in
shared_preload_libraries); without it every test here is skipped. Each test gets a new
database, migrated with TimescaleDB required, and dropped afterwards: `empty_db_url` and
`db_url` here override those of tests/conftest.py, so the plain-PostgreSQL suites imported by
the `test_*_suite.py` modules run again on TimescaleDB.

Background jobs may not run on such a test server (TimescaleDB 2.28.3 on PostgreSQL 15.20
fails every job it schedules), so tests run policies by hand with `CALL run_job(id)`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from benchmarks.support.databases import create_database, drop_database

ENV = "ENERGYWATCH_TEST_TIMESCALE_URL"


@pytest.fixture(scope="session")
def timescale_server_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"needs a TimescaleDB server: set {ENV}")
    return url


@pytest.fixture
def empty_db_url(timescale_server_url: str) -> Iterator[str]:
    url = create_database(timescale_server_url, f"ew_ts_{uuid.uuid4().hex[:12]}")
    try:
        yield url
    finally:
        drop_database(timescale_server_url, url)


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    from energywatch.storage.migrate import upgrade

    upgrade(empty_db_url, use_timescaledb=True)
    return empty_db_url
