"""tests/integration/rollup/test_retention_horizon.py again, on TimescaleDB (conftest.py)."""

from tests.integration.rollup.test_retention_horizon import *  # noqa: F403
