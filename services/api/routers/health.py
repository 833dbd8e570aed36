"""Liveness with a database check. (Metrics are on their own port: services/api/command.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from energywatch.dependencies import database_problem
from energywatch.storage.jobs import job_statuses
from services.api.deps import EngineDep
from services.api.problems import ProblemError

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "database unreachable"}})
def healthz(engine: EngineDep, request: Request) -> JSONResponse:
    """200 while the database answers. On TimescaleDB also the background jobs: status
    "degraded" names those whose last run failed (still 200: restarting the API would not
    mend a policy)."""
    database = request.app.state.database
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            jobs = job_statuses(conn)
    except sa.exc.SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig else exc
        problem = database_problem(request.app.state.settings.database.url, cause)
        database.down(problem)
        # The address and cause go to the log, not to anonymous callers.
        raise ProblemError(503, "database unreachable", extra={"database": "down"}) from exc
    database.up()
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
