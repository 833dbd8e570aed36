"""The regulator's console: enterprises of a region ranked; regional consumption."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response

from services.api.clock import local_today, next_month
from services.api.deps import ConnDep, CurrentUser, PageDep, ScopedRegion
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.reports import region_sites, scope_sql_text
from services.api.responses import model_json
from services.api.routers.reports import month_param
from services.api.schemas.reports import Ranking, RegionConsumption, RegionSite, RegionTotal

router = APIRouter(tags=["regions"], responses=PROBLEM_RESPONSES)

REGION_TZ = "Asia/Shanghai"  # the calendar of regional periods; sites keep their own


@router.get("/regions/{division}/ranking", response_model=Ranking)
def ranking(
    division: ScopedRegion,
    user: CurrentUser,
    conn: ConnDep,
    page: PageDep,
    period: Literal["day", "month"] = "day",
    day: date | None = None,
    month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
    by: Literal["breaches", "intensity", "tce", "tco2"] = "breaches",
) -> Response:
    today = local_today(REGION_TZ)
    if day is not None and not 2000 <= day.year <= 2100:
        raise ProblemError(422, "day out of range")
    if period == "day":
        first = day or today
        end = first + timedelta(days=1)
    else:
        first = month_param(month) if month else today.replace(day=1)
        end = next_month(first)
    if not 2000 <= first.year <= 2100:
        raise ProblemError(422, "period out of range")
    rows, total = region_sites(
        conn, user, division, first, end, order=by, limit=page.limit, offset=page.offset
    )
    return model_json(
        Ranking(
            division=division,
            period=period,
            first_day=first,
            end_day=end,
            by=by,
            items=[RegionSite.model_validate(r) for r in rows],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/regions/{division}/consumption", response_model=RegionConsumption)
def region_consumption(
    division: ScopedRegion,
    user: CurrentUser,
    conn: ConnDep,
    start_day: date,
    end_day: date,
    granularity: Literal["day", "month"] = "day",
) -> RegionConsumption:
    if not (2000 <= start_day.year <= 2100 and 2000 <= end_day.year <= 2100):
        raise ProblemError(422, "days must lie between 2000 and 2100")
    if end_day < start_day or (end_day - start_day).days > 366:
        raise ProblemError(422, "start_day..end_day must be ordered and at most 366 days apart")
    scope_sql, scope_params = scope_sql_text(user)
    t = "c.day" if granularity == "day" else "date_trunc('month', c.day)::date"
    sql = f"""
        SELECT {t} AS t, sum(c.tce * p.balance_sign) AS tce, sum(c.tco2 * p.balance_sign) AS tco2,
               count(DISTINCT s.id) AS n_sites
          FROM sites s
          JOIN points p ON p.site_id = s.id AND p.balance_sign <> 0
          JOIN consumption_daily c ON c.point_id = p.id
           AND c.day >= CAST(:d0 AS date) AND c.day < CAST(:d1 AS date)
         WHERE s.kind = 'enterprise' AND s.division_code LIKE :prefix AND {scope_sql}
         GROUP BY 1 ORDER BY 1"""
    rows = conn.execute(
        sa.text(sql),
        {
            "d0": start_day,
            "d1": end_day + timedelta(days=1),
            "prefix": division + "%",
            **scope_params,
        },
    ).mappings()
    return RegionConsumption(
        division=division,
        granularity=granularity,
        items=[RegionTotal.model_validate(dict(r)) for r in rows],
    )
