from __future__ import annotations

import importlib

from energywatch.storage.alerting_tables import OPEN_STATES
from energywatch.storage.tables import RANKED_POINTS_SQL


def test_the_migration_indexes_what_the_tables_declare() -> None:
    migration = importlib.import_module(
        "energywatch.storage.migrations.versions.0010_ranking_indexes"
    )
    assert migration.RANKED_POINTS == RANKED_POINTS_SQL
    open_states = ", ".join(f"'{s}'" for s in OPEN_STATES)
    assert f"state IN ({open_states})" == migration.OPEN
