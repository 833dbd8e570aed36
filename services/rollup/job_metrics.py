"""TimescaleDB's background jobs in the rollup's metrics: a job that keeps failing (say, the
compression policy) is otherwise seen only in the database's log."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Gauge

from energywatch.storage.jobs import JobStatus

LABELS = ["job_id", "proc_name", "relation"]
JOB_FAILED = Gauge(
    "energywatch_timescaledb_job_failed",
    "1 when the last run of the TimescaleDB job failed, 0 otherwise",
    LABELS,
)
JOB_FAILURES = Gauge(
    "energywatch_timescaledb_job_failures",
    "Failed runs of the TimescaleDB job since it was added (timescaledb_information.job_stats)",
    LABELS,
)
JOBS_FAILING = Gauge(
    "energywatch_timescaledb_jobs_failing", "TimescaleDB jobs whose last run failed"
)


def observe_jobs(statuses: Sequence[JobStatus]) -> None:
    # jobs come and go (a policy changed by `db upgrade` is a new job): start afresh each time
    JOB_FAILED.clear()
    JOB_FAILURES.clear()
    for job in statuses:
        labels = (str(job.job_id), job.proc_name, job.relation)
        JOB_FAILED.labels(*labels).set(1 if job.failing else 0)
        JOB_FAILURES.labels(*labels).set(job.total_failures)
    JOBS_FAILING.set(sum(job.failing for job in statuses))
