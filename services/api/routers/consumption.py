"""Consumption, tce and tCO2 series of a site; completeness per point and day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.api.clock import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    in_supported_years,
    local_midnight,
)
from services.api.deps import ConnDep, ScopedSite
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.consumption import Granularity, Group, site_series
from services.api.queries.equal_value import EQUAL, equal_uplift, local_date
from services.api.schemas.energy import (
    CompletenessItem,
    CompletenessView,
    ConsumptionItem,
    ConsumptionSeries,
)

router = APIRouter(tags=["consumption"], responses=PROBLEM_RESPONSES)

MAX_RANGE = timedelta(days=3 * 366)


@router.get("/sites/{site}/consumption", response_model=ConsumptionSeries)
def consumption(
    site: ScopedSite,
    conn: ConnDep,
    start: AwareDatetime,
    end: AwareDatetime,
    granularity: Granularity = "hour",
    group: Group = "point",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> ConsumptionSeries:
    if not in_supported_years(start, end):
        raise ProblemError(422, "start and end must lie between 1990 and 2200")
    if end <= start:
        raise ProblemError(422, "end must be after start")
    if end - start > MAX_RANGE:
        raise ProblemError(422, "the range may span at most three years")
    rows = site_series(conn, site.id, site.timezone, start, end, granularity, group, limit)
    if site.coal_basis == EQUAL:
        uplift = equal_uplift(conn)
        for r in rows:
            day = local_date(r["t"], site.timezone)
            r["tce_equal"] = r["tce"] + r["electricity_kwh"] * uplift(day)
    return ConsumptionSeries(
        site=site.code,
        granularity=granularity,
        group=group,
        items=[ConsumptionItem.model_validate(r) for r in rows],
    )


def _check_days(start_day: date, end_day: date) -> None:
    if not (
        EARLIEST_YEAR <= start_day.year <= LATEST_YEAR
        and EARLIEST_YEAR <= end_day.year <= LATEST_YEAR
    ):
        raise ProblemError(422, "days must lie between 1990 and 2200")
    if end_day < start_day:
        raise ProblemError(422, "end_day must not be before start_day")
    if (end_day - start_day).days > 366:
        raise ProblemError(422, "the range may span at most 366 days")


@router.get("/sites/{site}/completeness", response_model=CompletenessView)
def completeness(
    site: ScopedSite,
    conn: ConnDep,
    start_day: date,
    end_day: date,
    point: Annotated[str | None, Query(max_length=100)] = None,
) -> CompletenessView:
    _check_days(start_day, end_day)
    sql = """
        SELECT p.code, (c.bucket AT TIME ZONE :tz)::date AS day,
               sum(c.completeness) / 96.0 AS completeness
          FROM consumption_15min c JOIN points p ON p.id = c.point_id
         WHERE p.site_id = :site AND c.bucket >= :s AND c.bucket < :e
         GROUP BY 1, 2"""
    start = local_midnight(start_day, site.timezone)
    end = local_midnight(end_day + timedelta(days=1), site.timezone)
    found = {
        (code, day): value
        for code, day, value in conn.execute(
            sa.text(sql), {"tz": site.timezone, "site": site.id, "s": start, "e": end}
        )
    }
    codes_sql = "SELECT code FROM points WHERE site_id = :site"
    params: dict[str, object] = {"site": site.id}
    if point:
        codes_sql += " AND code = :code"
        params["code"] = point
    codes = list(conn.execute(sa.text(codes_sql + " ORDER BY code"), params).scalars())
    days = [start_day + timedelta(days=i) for i in range((end_day - start_day).days + 1)]
    items = [
        CompletenessItem(point=c, day=d, completeness=min(1.0, found.get((c, d), 0.0)))
        for c in codes
        for d in days
    ]
    return CompletenessView(site=site.code, items=items)
