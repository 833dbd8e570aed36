"""Schema migrations (Alembic) and the reference-data seed, run by `energywatch db upgrade`.

Each area of the product may keep its own branch of migrations (label = area); `upgrade`
applies every head, so areas never fight over one linear history.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from energywatch.storage.engine import make_engine
from energywatch.storage.policies import Policies, converge

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: sa.Connection | None = None, **options: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes.update(options)
    return cfg


def _run(url: str, action: Callable[[Config], None], **options: object) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            action(_config(conn, **options))
    finally:
        engine.dispose()


def upgrade(
    url: str,
    revision: str = "heads",
    *,
    use_timescaledb: bool | None = None,
    compress_after_days: int = 7,
    compress_rollups_after_days: int = 90,
    retain_days: int | None = None,
    hourly_refresh_days: int = 90,
    seed: bool = True,
) -> None:
    """Bring the schema to `revision`, make the TimescaleDB policies match the settings and
    (re)load the shipped reference data."""
    _run(
        url,
        lambda cfg: command.upgrade(cfg, revision),
        use_timescaledb=use_timescaledb,
        compress_after_days=compress_after_days,
        compress_rollups_after_days=compress_rollups_after_days,
        retain_days=retain_days,
    )
    policies = Policies(
        compress_readings_after_days=compress_after_days,
        compress_rollups_after_days=compress_rollups_after_days,
        retain_days=retain_days,
        hourly_refresh_days=hourly_refresh_days,
    )
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            converge(conn, policies)
        if seed and revision == "heads":
            from energywatch.storage.seed import seed_reference

            with engine.begin() as conn:
                seed_reference(conn)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    _run(url, lambda cfg: command.downgrade(cfg, revision))


def current_heads(url: str) -> set[str]:
    """Revisions the database is at (empty for a database never migrated)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return set()
            return {
                row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            }
    finally:
        engine.dispose()


def script_heads() -> set[str]:
    return set(ScriptDirectory.from_config(_config()).get_heads())
