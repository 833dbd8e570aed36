"""Of which non-fossil (energywatch/storage/balance.py non_fossil_used) and the database's check
of the mark, as migration 0009 wrote it."""

from __future__ import annotations

import importlib

import pytest

from energywatch.storage.balance import NON_FOSSIL_CHECK_SQL, non_fossil_used


@pytest.mark.parametrize(
    ("own", "green", "export", "expected"),
    [
        (30_000.0, 50_000.0, 8_000.0, 72_000.0),  # the worked day: PV surplus fed to the grid
        (30_000.0, 0.0, 0.0, 30_000.0),  # all the PV used on site
        (30_000.0, 50_000.0, 45_000.0, 50_000.0),  # more exported than generated: no PV left
        (0.0, 50_000.0, 8_000.0, 50_000.0),  # an export never lowers the green purchases
        (0.0, 0.0, 8_000.0, 0.0),
    ],
)
def test_exported_electricity_is_taken_from_own_generation_first(
    own: float, green: float, export: float, expected: float
) -> None:
    assert non_fossil_used(own, green, export) == expected


def test_the_migration_checks_what_the_tables_declare() -> None:
    migration = importlib.import_module("energywatch.storage.migrations.versions.0009_non_fossil")
    assert migration.NON_FOSSIL_CHECK_SQL == NON_FOSSIL_CHECK_SQL
