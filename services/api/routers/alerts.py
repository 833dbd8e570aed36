"""Alerts (filter, acknowledge) and silences, within the caller's scope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from energywatch.storage.alerting_tables import silences
from energywatch.storage.tables import sites
from services.api import audit
from services.api.alert_stream import AlertStream
from services.api.clock import now_utc
from services.api.deps import ClientDep, ConnDep, CurrentUser, PageDep, StreamUser
from services.api.principal import Principal
from services.api.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from services.api.queries import alerts as q
from services.api.schemas.alerts import (
    AckCreate,
    AlertDetail,
    AlertPage,
    AlertPublic,
    SeverityCounts,
    SilenceCreate,
    SilencePublic,
    TransitionPublic,
)
from services.api.schemas.common import Page
from services.api.scope import site_in_scope

router = APIRouter(tags=["alerts"], responses=PROBLEM_RESPONSES)

ALERT_ID = Path(ge=1, le=2**63 - 1)


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    user: CurrentUser,
    conn: ConnDep,
    page: PageDep,
    state: Literal["pending", "firing", "resolved", "cancelled", "open", "inbox"] | None = None,
    severity: Annotated[
        list[Literal["info", "warning", "critical"]] | None,
        Query(description="repeat for several: severity=warning&severity=critical"),
    ] = None,
    site: Annotated[str | None, Query(max_length=100)] = None,
    rule: Annotated[str | None, Query(max_length=100)] = None,
    since: AwareDatetime | None = None,
) -> AlertPage:
    rows, total, counts = q.list_alerts(
        conn,
        user,
        state=state,
        severities=sorted(set(severity or ())),
        site=site,
        rule=rule,
        since=since,
        limit=page.limit,
        offset=page.offset,
    )
    return AlertPage(
        items=[AlertPublic.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
        counts=SeverityCounts.model_validate(counts),
    )


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "events: hello, alert; see docs/api.md",
        }
    },
)
def alert_stream(user: StreamUser, request: Request) -> StreamingResponse:
    """Every alert in the caller's scope as it is created or changes (the regulator's inbox)."""
    stream = AlertStream(
        engine=request.app.state.engine,
        principal=user,
        poll_s=request.app.state.settings.api.stream_poll_s,
        is_disconnected=request.is_disconnected,
        gauge=request.app.state.metrics.streams,
    )
    return StreamingResponse(
        stream.events(),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # Cache-Control: services/api/security_headers.py
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: Annotated[int, ALERT_ID], user: CurrentUser, conn: ConnDep) -> AlertDetail:
    row = q.get_alert(conn, user, alert_id)
    if row is None:
        raise not_found(f"alert {alert_id}")
    return AlertDetail.model_validate(
        {
            **row,
            "transitions": [
                TransitionPublic.model_validate(t) for t in q.transitions(conn, alert_id)
            ],
        }
    )


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic)
def acknowledge(
    alert_id: Annotated[int, ALERT_ID],
    body: AckCreate,
    user: CurrentUser,
    conn: ConnDep,
    client: ClientDep,
) -> AlertPublic:
    if q.get_alert(conn, user, alert_id) is None:
        raise not_found(f"alert {alert_id}")
    q.acknowledge(conn, alert_id, user.username, body.comment, now_utc())
    audit.record(
        conn,
        "alert.ack",
        username=user.username,
        target=str(alert_id),
        detail={"comment": body.comment},
        client=client,
    )
    row = q.get_alert(conn, user, alert_id)
    return AlertPublic.model_validate(row)


# --- silences ------------------------------------------------------------------------------


def _site_division(conn: sa.Connection, user: Principal, code: str) -> str | None:
    return conn.execute(
        sa.select(sites.c.division_code).where(sites.c.code == code, site_in_scope(user))
    ).scalar()


def silence_visible(conn: sa.Connection, user: Principal, matchers: dict[str, Any]) -> bool:
    """A silence is shown to whoever could have made it: its site or region is theirs."""
    if user.role == "admin":
        return True
    site = matchers.get("site") or (str(matchers.get("point") or "").partition("/")[0] or None)
    if site:
        return _site_division(conn, user, site) is not None
    region = matchers.get("region")
    return isinstance(region, str) and user.covers_region(region)


@router.get("/silences", response_model=Page[SilencePublic])
def list_silences(
    user: CurrentUser,
    conn: ConnDep,
    page: PageDep,
    active: bool = True,
    site: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[SilencePublic]:
    query = sa.select(silences).order_by(silences.c.starts_at.desc(), silences.c.id.desc())
    if active:
        # The API's clock, the one silences are checked against elsewhere, not the database's.
        query = query.where(silences.c.ends_at > now_utc())
    rows = [dict(r) for r in conn.execute(query.limit(10_000)).mappings()]
    rows = [
        r
        for r in rows
        if silence_visible(conn, user, r["matchers"])
        and (site is None or r["matchers"].get("site") == site)
    ]
    chosen = rows[page.offset : page.offset + page.limit]
    return Page(
        items=[SilencePublic.model_validate(r) for r in chosen],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/silences", response_model=SilencePublic, status_code=201)
def create_silence(
    body: SilenceCreate, user: CurrentUser, conn: ConnDep, client: ClientDep
) -> SilencePublic:
    matchers = body.model_dump(
        include={"rule", "site", "point", "region", "severity"}, exclude_none=True
    )
    if body.point and "/" not in body.point:
        raise ProblemError(422, "point is written SITE/POINT")
    if user.role != "admin":
        if not (body.site or body.point or body.region):
            raise forbidden("name a site, point or region of your own")
        if not silence_visible(conn, user, matchers):
            raise not_found("site or region")
        if body.region and user.role == "operator":
            raise forbidden("an operator silences by site")
    for code in {body.site, (body.point or "").partition("/")[0]} - {None, ""}:
        if _site_division(conn, user, str(code)) is None:
            raise not_found(f"site {code}")
    row = (
        conn.execute(
            silences.insert()
            .values(
                matchers=matchers,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                created_by=user.username,
                comment=body.comment,
            )
            .returning(silences)
        )
        .mappings()
        .one()
    )
    audit.record(
        conn,
        "silence.create",
        username=user.username,
        target=str(row["id"]),
        detail={
            "matchers": matchers,
            "starts_at": body.starts_at.isoformat(),
            "ends_at": body.ends_at.isoformat(),
        },
        client=client,
    )
    return SilencePublic.model_validate(dict(row))


@router.delete("/silences/{silence_id}", status_code=204)
def delete_silence(
    silence_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    user: CurrentUser,
    conn: ConnDep,
    client: ClientDep,
) -> None:
    row = conn.execute(sa.select(silences).where(silences.c.id == silence_id)).mappings().first()
    if row is None or not silence_visible(conn, user, row["matchers"]):
        raise not_found(f"silence {silence_id}")
    conn.execute(silences.delete().where(silences.c.id == silence_id))
    audit.record(
        conn,
        "silence.delete",
        username=user.username,
        target=str(silence_id),
        detail={"matchers": row["matchers"]},
        client=client,
    )
