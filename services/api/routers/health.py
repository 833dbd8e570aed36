"""Liveness with a database check, and Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from energywatch.dependencies import database_problem
from services.api.deps import EngineDep
from services.api.problems import ProblemError

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "database unreachable"}})
def healthz(engine: EngineDep, request: Request) -> JSONResponse:
    database = request.app.state.database
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig else exc
        problem = database_problem(request.app.state.settings.database.url, cause)
        database.down(problem)
        # The address and cause go to the log, not to anonymous callers.
        raise ProblemError(503, "database unreachable", extra={"database": "down"}) from exc
    database.up()
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return request.app.state.metrics.render()
