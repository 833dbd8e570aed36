"""tests/integration/rollup/test_rollup.py again, on TimescaleDB (conftest.py)."""

from tests.integration.rollup.test_rollup import *  # noqa: F403
