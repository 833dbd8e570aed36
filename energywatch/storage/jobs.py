"""TimescaleDB's background jobs (compression, retention, aggregate refresh) as the server
reports them, so that a failing job shows on /healthz and in the metrics instead of only in
the database's own log. Nothing on plain PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import sqlalchemy as sa

JOBS_SQL = """
    SELECT j.job_id, j.proc_name, coalesce(j.hypertable_name, ''), s.last_run_status,
           coalesce(s.total_runs, 0), coalesce(s.total_failures, 0)
      FROM timescaledb_information.jobs j
      LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
     ORDER BY j.job_id
"""
HAS_JOBS_SQL = "SELECT to_regclass('timescaledb_information.job_stats') IS NOT NULL"


@dataclass(frozen=True)
class JobStatus:
    job_id: int
    proc_name: str
    relation: str  # the hypertable or continuous aggregate, '' for the server's own jobs
    last_run_status: str | None  # 'Success', 'Failed', or None before its first run
    total_runs: int
    total_failures: int

    @property
    def failing(self) -> bool:
        return self.last_run_status == "Failed"


def job_statuses(conn: psycopg.Connection | sa.Connection) -> list[JobStatus]:
    """Every TimescaleDB job of the database with its last outcome (none without TimescaleDB);
    `conn` is a psycopg or a SQLAlchemy connection."""
    if isinstance(conn, sa.Connection):
        if not conn.exec_driver_sql(HAS_JOBS_SQL).scalar():
            return []
        return [JobStatus(*row) for row in conn.exec_driver_sql(JOBS_SQL)]
    found = conn.execute(HAS_JOBS_SQL).fetchone()
    if not (found and found[0]):
        return []
    return [JobStatus(*row) for row in conn.execute(JOBS_SQL)]
