"""tests/integration/storage/test_migrations.py again, on TimescaleDB (conftest.py)."""

from tests.integration.storage.test_migrations import *  # noqa: F403
