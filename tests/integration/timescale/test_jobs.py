"""A failing TimescaleDB background job shows in the rollup's metrics and on /healthz."""

from __future__ import annotations

import time

import psycopg
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from energywatch.settings import DatabaseSettings, Settings
from energywatch.storage.jobs import job_statuses
from services.api.app import create_app
from services.rollup.job_metrics import observe_jobs

FAILING_JOB = """
    CREATE PROCEDURE ew_test_broken_job(job_id int, config jsonb) LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'broken on purpose'; END $$
"""


def _failing_job(url: str, deadline_s: float = 60.0) -> int:
    """Add a job that always fails and wait (with a deadline) for the scheduler to run it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FAILING_JOB)
        row = conn.execute(
            "SELECT add_job('ew_test_broken_job', INTERVAL '1 hour', initial_start => now())"
        ).fetchone()
        assert row is not None
        job_id = int(row[0])
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            ran = conn.execute(
                "SELECT total_runs FROM timescaledb_information.job_stats WHERE job_id = %s",
                (job_id,),
            ).fetchone()
            if ran and ran[0]:
                return job_id
            time.sleep(0.2)
    raise AssertionError(f"the scheduler did not run job {job_id} within {deadline_s} s")


def test_a_failing_job_shows_in_the_rollup_metrics_and_on_healthz(db_url: str) -> None:
    job_id = _failing_job(db_url)

    with psycopg.connect(db_url) as conn:
        statuses = job_statuses(conn)
    broken = [j for j in statuses if j.job_id == job_id]
    assert len(broken) == 1 and broken[0].failing and broken[0].total_failures >= 1
    policies = {(j.proc_name, j.relation) for j in statuses}
    assert ("policy_compression", "readings") in policies

    observe_jobs(statuses)
    labels = {"job_id": str(job_id), "proc_name": "ew_test_broken_job", "relation": ""}
    assert REGISTRY.get_sample_value("energywatch_timescaledb_job_failed", labels) == 1
    assert (REGISTRY.get_sample_value("energywatch_timescaledb_job_failures", labels) or 0) >= 1
    assert (REGISTRY.get_sample_value("energywatch_timescaledb_jobs_failing") or 0) >= 1

    settings = Settings(demo=True, database=DatabaseSettings(url=db_url))
    with TestClient(create_app(settings)) as client:
        health = client.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    failing = {j["job_id"]: j for j in body["timescaledb_jobs"]["failing"]}
    assert failing[job_id]["proc_name"] == "ew_test_broken_job"
