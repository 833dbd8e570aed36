"""Liveness with a database check. (Metrics are on their own port: services/api/command.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from energywatch.storage.jobs import job_statuses
from services.api.deps import EngineDep
from services.api.problems import ProblemError

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "database unreachable"}})
def healthz(engine: EngineDep) -> JSONResponse:
    """200 while the database answers. On TimescaleDB also the background jobs: status
    "degraded" names those whose last run failed (still 200: restarting the API would not
    mend a policy)."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            jobs = job_statuses(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise ProblemError(503, "database unreachable") from exc
    body: dict[str, object] = {"status": "ok", "database": "ok"}
    if jobs:
        failing = [job for job in jobs if job.failing]
        body["timescaledb_jobs"] = {
            "total": len(jobs),
            "failing": [
                {
                    "job_id": job.job_id,
                    "proc_name": job.proc_name,
                    "relation": job.relation,
                    "total_failures": job.total_failures,
                }
                for job in failing
            ],
        }
        if failing:
            body["status"] = "degraded"
    return JSONResponse(body)

