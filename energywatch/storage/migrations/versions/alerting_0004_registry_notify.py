"""Tell alerting when the registry changes: a statement trigger on sites, points, process
units and intensity levels sends NOTIFY energywatch_registry (energywatch/storage/changes.py)
with the table's name, whoever wrote them (the registry import, the API, psql).

Alerting holds a snapshot of the registry (200,000 points in a province: about a second of
Python to load); it reloads it when told, instead of every 30 seconds in case something
changed. A statement trigger costs one notification per statement, not per row, and
PostgreSQL folds identical notifications of a transaction into one.

Revision ID: alerting_0004_registry_notify
Revises: alerting_0003_inbox
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "alerting_0004_registry_notify"
down_revision: str | Sequence[str] | None = "alerting_0003_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0007_process_units"  # its table gets a trigger

TABLES = ("sites", "points", "process_units", "intensity_levels")


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION energywatch_registry_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('energywatch_registry', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION energywatch_registry_changed()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER registry_changed ON {table}")
    op.execute("DROP FUNCTION energywatch_registry_changed()")
