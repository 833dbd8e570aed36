"""The operator's live view in one request, and the live stream (Server-Sent Events)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from energywatch.storage.tables import points
from services.api.clock import day_range, local_today, now_utc
from services.api.deps import ConnDep, ScopedSite, StreamSite
from services.api.live_stream import LiveStream
from services.api.problems import PROBLEM_RESPONSES
from services.api.queries.alerts import open_alerts_of_site
from services.api.queries.consumption import totals_by_measure
from services.api.queries.timeseries import latest_readings, live_series
from services.api.responses import model_json
from services.api.schemas.alerts import AlertPublic
from services.api.schemas.live import LivePoint, LiveView, MeasureTotal, Today
from services.api.schemas.sites import ReadingPublic

router = APIRouter(tags=["live"], responses=PROBLEM_RESPONSES)


def site_points(conn: sa.Connection, site_id: int) -> list[dict[str, Any]]:
    rows = (
        conn.execute(
            sa.select(
                points.c.id,
                points.c.code,
                points.c.name,
                points.c.measure,
                points.c.unit,
                points.c.kind,
                points.c.role,
                points.c.balance_sign,
            )
            .where(points.c.site_id == site_id)
            .order_by(points.c.code)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def points_with_latest(conn: sa.Connection, site_id: int) -> list[dict[str, Any]]:
    """The site's points, each with its newest reading (or NULLs), in one round trip."""
    rows = (
        conn.execute(
            sa.text(
                "SELECT p.id, p.code, p.name, p.measure, p.unit, p.kind, p.role, p.balance_sign,"
                " r.ts, r.value,"
                " r.quality FROM points p LEFT JOIN LATERAL"
                " (SELECT ts, value, quality FROM readings WHERE point_id = p.id"
                " ORDER BY ts DESC LIMIT 1) r ON true"
                " WHERE p.site_id = :site ORDER BY p.code"
            ),
            {"site": site_id},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


@router.get("/sites/{site}/live", response_model=LiveView)
def live_view(
    site: ScopedSite,
    conn: ConnDep,
    hours: Annotated[int, Query(ge=1, le=48)] = 24,
    bucket: Literal["1m", "5m", "15m"] = "5m",
) -> Response:
    now = now_utc()
    pts = points_with_latest(conn, site.id)
    series = live_series(
        conn, {int(p["id"]): str(p["kind"]) for p in pts}, now - timedelta(hours=hours), bucket
    )
    today = local_today(site.timezone, now)
    totals = totals_by_measure(conn, site.id, *day_range(today, site.timezone))
    live_points = []
    for p in pts:
        # Built from our own typed rows: constructing skips re-validating thousands of pairs.
        live_points.append(
            LivePoint.model_construct(
                code=p["code"],
                name=p["name"],
                measure=p["measure"],
                unit=p["unit"],
                kind=p["kind"],
                role=p["role"],
                balance_sign=p["balance_sign"],
                last=(
                    ReadingPublic(ts=p["ts"], v=p["value"], q=p["quality"])
                    if p["ts"] is not None
                    else None
                ),
                series=series[int(p["id"])],
            )
        )
    return model_json(
        LiveView(
            site=site.code,
            now=now,
            day=today,
            bucket=bucket,
            points=live_points,
            today=Today(
                tce=sum(t["tce"] for t in totals),
                tco2=sum(t["tco2"] for t in totals),
                by_measure=[MeasureTotal.model_validate(t) for t in totals],
            ),
            alerts=[AlertPublic.model_validate(a) for a in open_alerts_of_site(conn, site.id)],
        )
    )


@router.get(
    "/sites/{site}/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "events: hello, readings, alert; see docs/api.md",
        }
    },
)
def stream(site: StreamSite, request: Request, conn: ConnDep) -> StreamingResponse:
    pts = site_points(conn, site.id)
    latest = latest_readings(conn, [int(p["id"]) for p in pts])
    live = LiveStream(
        engine=request.app.state.engine,
        site_code=site.code,
        site_id=site.id,
        point_codes={int(p["id"]): str(p["code"]) for p in pts},
        latest={pid: ts for pid, (ts, _, _) in latest.items()},
        poll_s=request.app.state.settings.api.stream_poll_s,
        last_event_id=request.headers.get("last-event-id"),
        is_disconnected=request.is_disconnected,
        gauge=request.app.state.metrics.streams,
    )
    return StreamingResponse(
        live.events(),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # Cache-Control: services/api/security_headers.py
    )
