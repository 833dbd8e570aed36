"""Readings of one point: raw or bucketed over a time range."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from services.api.clock import in_supported_years
from services.api.deps import ConnDep, ScopedSite
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.timeseries import Agg, Bucket, point_series
from services.api.routers.sites import lookup_point
from services.api.schemas.live import PointSeries, SeriesPoint

router = APIRouter(tags=["readings"], responses=PROBLEM_RESPONSES)

MAX_RANGE = timedelta(days=366)


@router.get("/sites/{site}/points/{point}/readings", response_model=PointSeries)
def point_readings(
    site: ScopedSite,
    point: Annotated[str, Path(min_length=1, max_length=100)],
    conn: ConnDep,
    start: AwareDatetime,
    end: AwareDatetime,
    bucket: Bucket = "raw",
    agg: Agg = "avg",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> PointSeries:
    if not in_supported_years(start, end):
        raise ProblemError(422, "start and end must lie between 1990 and 2200")
    if end <= start:
        raise ProblemError(422, "end must be after start")
    if end - start > MAX_RANGE:
        raise ProblemError(422, "the range may span at most 366 days")
    row = lookup_point(conn, site.id, point)
    rows = point_series(conn, int(row["id"]), start, end, bucket, agg, limit, site.timezone)  # type: ignore[call-overload]
    return PointSeries(
        point=point,
        unit=str(row["unit"]),
        bucket=bucket,
        agg="raw" if bucket == "raw" else agg,
        items=[SeriesPoint(ts=t, v=v, q=q) for t, v, q in rows],
    )
