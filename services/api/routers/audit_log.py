"""The audit log (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from energywatch.storage.api_tables import audit_log
from services.api.deps import AdminUser, ConnDep, PageDep
from services.api.problems import PROBLEM_RESPONSES
from services.api.schemas.common import Page

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    username: str | None
    action: str
    target: str | None
    detail: dict[str, Any] | None
    client: str | None


@router.get("/audit", response_model=Page[AuditEntry])
def list_audit(
    _: AdminUser,
    conn: ConnDep,
    page: PageDep,
    action: Annotated[str | None, Query(max_length=100)] = None,
    username: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[AuditEntry]:
    where = []
    if action:
        where.append(audit_log.c.action == action)
    if username:
        where.append(audit_log.c.username == username)
    total = conn.execute(
        sa.select(sa.func.count()).select_from(audit_log).where(*where)
    ).scalar_one()
    rows = (
        conn.execute(
            sa.select(audit_log)
            .where(*where)
            .order_by(audit_log.c.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return Page(
        items=[AuditEntry.model_validate(dict(r)) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
