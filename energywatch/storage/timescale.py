"""TimescaleDB features, used when the extension is installed; plain PostgreSQL otherwise.

Everything here is written against the documented TimescaleDB 2.x API (2.13 or newer for
`by_range`), and each statement runs inside the migration's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from energywatch.errors import StorageError

log = logging.getLogger(__name__)

HOURLY_SELECT = """
    SELECT point_id,
           {bucket_hour} AS bucket,
           sum(quantity) AS quantity,
           sum(tce) AS tce,
           sum(tco2) AS tco2,
           sum(completeness) AS completeness_sum,
           count(*) AS n_buckets
      FROM consumption_15min
     GROUP BY point_id, {bucket_hour}
"""


def timescaledb_available(conn: sa.Connection) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).scalar()
    )


def timescaledb_installed(conn: sa.Connection) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        ).scalar()
    )


def timescaledb_preloaded(conn: sa.Connection) -> bool:
    """Whether the server loaded TimescaleDB's loader at start (shared_preload_libraries).
    The loader defines `timescaledb.max_background_workers`; pg_settings lists it only when
    the library is loaded (an unloaded name set in postgresql.conf is a hidden placeholder),
    and unlike shared_preload_libraries it is readable without superuser rights."""
    return bool(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_settings WHERE name = 'timescaledb.max_background_workers'"
            )
        ).scalar()
    )


PRELOAD_HINT = (
    "set shared_preload_libraries = 'timescaledb' in postgresql.conf and restart PostgreSQL"
)


@dataclass(frozen=True)
class Choice:
    use: bool
    warning: str | None = None


def choose(wanted: bool | None, available: bool, preloaded: bool) -> Choice:
    """Whether to use TimescaleDB (pure). `wanted` None means 'if the server can'.

    A server whose share directory has the extension but that does not preload the library
    refuses `CREATE EXTENSION timescaledb` ("must be preloaded"). Required (True): stop with
    what to set. Unset: take the plain path and say so, because a database migrated on plain
    tables stays plain after the library is preloaded later."""
    if wanted is False:
        return Choice(use=False)
    if not available:
        if wanted:
            raise StorageError(
                "database.use_timescaledb is true but the server has no timescaledb extension"
            )
        return Choice(use=False)
    if not preloaded:
        if wanted:
            raise StorageError(
                "database.use_timescaledb is true but the server does not preload timescaledb: "
                + PRELOAD_HINT
            )
        return Choice(
            use=False,
            warning="the server has the timescaledb extension but does not preload it, so the"
            " schema uses plain PostgreSQL tables (they stay plain); to use TimescaleDB, "
            + PRELOAD_HINT
            + " before the first `energywatch db upgrade`",
        )
    return Choice(use=True)


def decide(conn: sa.Connection, wanted: bool | None) -> bool:
    """Whether to use TimescaleDB on this server; logs why not when it has the package."""
    choice = choose(wanted, timescaledb_available(conn), timescaledb_preloaded(conn))
    if choice.warning:
        log.warning("%s", choice.warning)
    return choice.use


# The policies' statements, for the migrations that create them and for
# energywatch/storage/policies.py, which makes them follow the settings on every upgrade.
HOURLY_END_OFFSET = "15 minutes"
HOURLY_SCHEDULE = "5 minutes"


def add_compression_policy(table: str, days: int) -> str:
    return f"SELECT add_compression_policy('{table}', INTERVAL '{int(days)} days')"


def add_retention_policy(days: int) -> str:
    return f"SELECT add_retention_policy('readings', INTERVAL '{int(days)} days')"


def add_hourly_policy(days: int) -> str:
    return (
        "SELECT add_continuous_aggregate_policy('consumption_hourly',"
        f" start_offset => INTERVAL '{int(days)} days',"
        f" end_offset => INTERVAL '{HOURLY_END_OFFSET}',"
        f" schedule_interval => INTERVAL '{HOURLY_SCHEDULE}')"
    )


def timescale_statements(compress_after_days: int, retain_days: int | None) -> list[str]:
    statements = [
        "CREATE EXTENSION IF NOT EXISTS timescaledb",
        "SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'),"
        " migrate_data => true)",
        "SELECT create_hypertable('consumption_15min', by_range('bucket', INTERVAL '30 days'),"
        " migrate_data => true)",
        "ALTER TABLE readings SET (timescaledb.compress,"
        " timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'ts')",
        add_compression_policy("readings", compress_after_days),
        "CREATE MATERIALIZED VIEW consumption_hourly"
        " WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS"
        + HOURLY_SELECT.format(bucket_hour="time_bucket(INTERVAL '1 hour', bucket)")
        + " WITH NO DATA",
        add_hourly_policy(90),
    ]
    if retain_days is not None:
        statements.append(add_retention_policy(retain_days))
    return statements


def rollup_compression_statements(compress_after_days: int) -> list[str]:
    """Migration 0004: compress consumption_15min chunks older than `compress_after_days`. The
    rollup still rewrites buckets there when late data reaches that far back (DML on compressed
    chunks, TimescaleDB 2.11+), only more slowly."""
    return [
        "ALTER TABLE consumption_15min SET (timescaledb.compress,"
        " timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'bucket')",
        add_compression_policy("consumption_15min", compress_after_days),
    ]


def is_hypertable(conn: sa.Connection, table: str) -> bool:
    if not timescaledb_installed(conn):
        return False
    return bool(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM timescaledb_information.hypertables"
                " WHERE hypertable_name = :t"
            ),
            {"t": table},
        ).scalar()
    )


def is_continuous_aggregate(conn: sa.Connection, view: str) -> bool:
    """A continuous aggregate is a plain view in pg_class (not in pg_matviews), yet only
    DROP MATERIALIZED VIEW removes it."""
    if not timescaledb_installed(conn):
        return False
    return bool(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM timescaledb_information.continuous_aggregates"
                " WHERE view_name = :v"
            ),
            {"v": view},
        ).scalar()
    )


def plain_statements() -> list[str]:
    return [
        "CREATE VIEW consumption_hourly AS"
        + HOURLY_SELECT.format(
            bucket_hour="date_bin(INTERVAL '1 hour', bucket, TIMESTAMPTZ '2000-01-01 00:00+00')"
        )
    ]


# Days and months follow each site's own time zone. China keeps no daylight saving time, so a
# day has 96 quarter-hours; completeness is the share of them that the rollup filled.
# Migration 0003 replaces the daily view by a table the rollup keeps (storage/daily.py); these
# stay as 0002 created them, for its downgrade.
DAILY_VIEW = """
    CREATE VIEW consumption_daily AS
    SELECT h.point_id,
           (h.bucket AT TIME ZONE s.timezone)::date AS day,
           sum(h.quantity) AS quantity,
           sum(h.tce) AS tce,
           sum(h.tco2) AS tco2,
           sum(h.completeness_sum) / 96.0 AS completeness
      FROM consumption_hourly h
      JOIN points p ON p.id = h.point_id
      JOIN sites s ON s.id = p.site_id
     GROUP BY h.point_id, (h.bucket AT TIME ZONE s.timezone)::date
"""

# The same over the view of 0002 and over the table of 0003 (storage/daily.py).
MONTHLY_VIEW = """
    CREATE VIEW consumption_monthly AS
    SELECT point_id,
           date_trunc('month', day)::date AS month,
           sum(quantity) AS quantity,
           sum(tce) AS tce,
           sum(tco2) AS tco2,
           avg(completeness) AS completeness
      FROM consumption_daily
     GROUP BY point_id, date_trunc('month', day)::date
"""

CALENDAR_VIEWS = [DAILY_VIEW, MONTHLY_VIEW]
