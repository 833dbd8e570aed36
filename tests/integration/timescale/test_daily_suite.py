"""tests/integration/storage/test_daily.py again, on TimescaleDB (conftest.py)."""

from tests.integration.storage.test_daily import *  # noqa: F403
