"""TimescaleDB policies made to match the settings on every `energywatch db upgrade`.

The migrations that create the hypertables add their policies once; without this step a later
change of `database.retain_days` (or of a compression or refresh window) would never reach a
database migrated before. Each policy that differs from the settings is removed and added
again; one that matches is left alone, so its job keeps its id and its run history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from energywatch.storage.timescale import (
    add_compression_policy,
    add_hourly_policy,
    add_retention_policy,
    is_continuous_aggregate,
    timescaledb_installed,
)

log = logging.getLogger(__name__)

HOURLY = "consumption_hourly"


@dataclass(frozen=True)
class Policies:
    """What the settings ask for; days, or None for 'no such policy'."""

    compress_readings_after_days: int = 7
    compress_rollups_after_days: int = 90
    retain_days: int | None = None
    hourly_refresh_days: int = 90


@dataclass(frozen=True)
class _Policy:
    proc: str  # timescaledb_information.jobs.proc_name
    relation: str  # its hypertable or continuous aggregate
    key: str  # the interval in the job's config that the setting decides
    days: int | None
    remove: str
    add: str


def _compression(table: str, days: int) -> _Policy:
    return _Policy(
        "policy_compression",
        table,
        "compress_after",
        days,
        f"SELECT remove_compression_policy('{table}', if_exists => true)",
        add_compression_policy(table, days),
    )


def _wanted(conn: sa.Connection, policies: Policies) -> list[_Policy]:
    hypertables = {
        row[0]: bool(row[1])
        for row in conn.execute(
            sa.text(
                "SELECT hypertable_name, compression_enabled"
                " FROM timescaledb_information.hypertables"
            )
        )
    }
    compressed = {name for name, enabled in hypertables.items() if enabled}
    wanted = []
    if "readings" in compressed:
        wanted.append(_compression("readings", policies.compress_readings_after_days))
    if "consumption_15min" in compressed:
        wanted.append(_compression("consumption_15min", policies.compress_rollups_after_days))
    retain = policies.retain_days
    if "readings" in hypertables:
        wanted.append(
            _Policy(
                "policy_retention",
                "readings",
                "drop_after",
                retain,
                "SELECT remove_retention_policy('readings', if_exists => true)",
                add_retention_policy(retain or 0),
            )
        )
    if is_continuous_aggregate(conn, HOURLY):
        days = policies.hourly_refresh_days
        wanted.append(
            _Policy(
                "policy_refresh_continuous_aggregate",
                HOURLY,
                "start_offset",
                days,
                f"SELECT remove_continuous_aggregate_policy('{HOURLY}', if_exists => true)",
                add_hourly_policy(days),
            )
        )
    return wanted


def _matches(conn: sa.Connection, policy: _Policy) -> bool:
    current = conn.execute(
        sa.text(
            "SELECT (config ->> :key)::interval = make_interval(days => :days)"
            " FROM timescaledb_information.jobs"
            " WHERE proc_name = :proc AND hypertable_name = :rel"
        ),
        {"key": policy.key, "days": policy.days or 0, "proc": policy.proc, "rel": policy.relation},
    ).all()
    if policy.days is None:
        return not current
    return len(current) == 1 and bool(current[0][0])


def converge(conn: sa.Connection, policies: Policies) -> list[str]:
    """Make the policies of the hypertables and of the hourly aggregate match `policies`, in
    the caller's transaction; returns what changed (nothing without TimescaleDB)."""
    if not timescaledb_installed(conn):
        return []
    changed = []
    for policy in _wanted(conn, policies):
        if _matches(conn, policy):
            continue
        conn.execute(sa.text(policy.remove))
        what = f"{policy.proc} on {policy.relation}: "
        if policy.days is None:
            what += "removed"
        else:
            conn.execute(sa.text(policy.add))
            what += f"{policy.key} {policy.days} days"
        log.info("policy changed: %s", what)
        changed.append(what)
    return changed
