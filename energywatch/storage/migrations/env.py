"""Alembic environment: runs migrations on the connection `energywatch.storage.migrate` passes."""

from __future__ import annotations

from alembic import context

# Each area's tables join the shared metadata when their module is imported.
import energywatch.storage.alerting_tables
import energywatch.storage.api_tables  # noqa: F401
from energywatch.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `energywatch db upgrade`")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
