"""Liveness with a database check. (Metrics are on their own port: services/api/command.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import EngineDep
from services.api.problems import ProblemError

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "database unreachable"}})
def healthz(engine: EngineDep) -> JSONResponse:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise ProblemError(503, "database unreachable") from exc
    return JSONResponse({"status": "ok", "database": "ok"})
