"""The TimescaleDB schema on a real server: the choice of path, downgrade, policies that
follow the settings on every upgrade."""

from __future__ import annotations

from typing import Any

import psycopg

from energywatch.storage.migrate import current_heads, downgrade, upgrade


def _jobs(url: str) -> dict[tuple[str, str], dict[str, Any]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT proc_name, hypertable_name, job_id, config FROM timescaledb_information.jobs"
            " WHERE proc_name LIKE 'policy_%' AND hypertable_name IS NOT NULL"
        ).fetchall()
    return {(r[0], r[1]): {"id": r[2], **r[3]} for r in rows}


def _relations(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')"
        ).fetchall()
    return {r[0] for r in rows}


def test_unset_choice_takes_timescaledb_on_a_server_that_preloads_it(empty_db_url: str) -> None:
    upgrade(empty_db_url)  # database.use_timescaledb unset
    with psycopg.connect(empty_db_url) as conn:
        hypertables = {
            r[0]
            for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
    assert {"readings", "consumption_15min"} <= hypertables


def test_downgrade_to_base_drops_the_continuous_aggregate_and_upgrades_again(
    db_url: str,
) -> None:
    before = _relations(db_url)
    assert "consumption_hourly" in before
    downgrade(db_url, "base")
    assert _relations(db_url) <= {"alembic_version"}
    assert current_heads(db_url) == set()
    upgrade(db_url, use_timescaledb=True)
    assert _relations(db_url) == before


def test_policies_follow_the_settings_on_every_upgrade(db_url: str) -> None:
    first = _jobs(db_url)
    assert ("policy_retention", "readings") not in first  # retain_days unset: keep forever
    assert first[("policy_compression", "readings")]["compress_after"] == "7 days"
    assert (
        first[("policy_refresh_continuous_aggregate", "consumption_hourly")]["start_offset"]
        == "90 days"
    )

    def upgrade_with(retain_days: int | None) -> None:
        upgrade(
            db_url,
            use_timescaledb=True,
            compress_after_days=14,
            compress_rollups_after_days=120,
            retain_days=retain_days,
            hourly_refresh_days=30,
        )

    upgrade_with(400)
    second = _jobs(db_url)
    assert second[("policy_retention", "readings")]["drop_after"] == "400 days"
    assert second[("policy_compression", "readings")]["compress_after"] == "14 days"
    assert second[("policy_compression", "consumption_15min")]["compress_after"] == "120 days"
    hourly = second[("policy_refresh_continuous_aggregate", "consumption_hourly")]
    assert (hourly["start_offset"], hourly["end_offset"]) == ("30 days", "00:15:00")

    upgrade_with(400)  # nothing to change: same jobs
    assert _jobs(db_url) == second

    upgrade_with(None)
    third = _jobs(db_url)
    assert ("policy_retention", "readings") not in third
    assert third[("policy_compression", "readings")] == second[("policy_compression", "readings")]
