"""tests/integration/rollup/test_command.py again, on TimescaleDB (conftest.py)."""

from tests.integration.rollup.test_command import *  # noqa: F403
