"""Rolling intensity (and PUE, supply coal rate) and budget status of a site."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from energywatch.core.budget import DEFAULT_MIN_COVERED, budget_status
from energywatch.core.timegrid import local_year_bounds, year_elapsed
from services.api.clock import in_supported_years, now_utc
from services.api.deps import ConnDep, ScopedSite
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.budget import site_period_totals
from services.api.queries.indicators import site_indicators
from services.api.schemas.energy import (
    BudgetFigures,
    BudgetView,
    IndicatorSeries,
    IntensityView,
    Levels,
    MonthTotal,
)

router = APIRouter(tags=["indicators"], responses=PROBLEM_RESPONSES)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _finite(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else float(x)


@router.get("/sites/{site}/intensity", response_model=IntensityView)
def intensity(
    site: ScopedSite,
    conn: ConnDep,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    window_hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24,
    product: Annotated[str | None, Query(max_length=100)] = None,
) -> IntensityView:
    if not in_supported_years(start, end):
        raise ProblemError(422, "start and end must lie between 1990 and 2200")
    end = end or now_utc()
    start = start or end - timedelta(days=7)
    if end <= start or end - start > timedelta(days=92):
        raise ProblemError(422, "start must be before end, at most 92 days apart")
    found = site_indicators(
        conn, site.id, site.industry, start, end, timedelta(hours=window_hours), site.timezone
    )
    items = []
    for ind in found:
        if product and ind.product != product:
            continue
        series = [
            (datetime.fromtimestamp(int(t) / 1000, UTC), _finite(v))
            for t, v in zip(ind.ts_ms, ind.values, strict=True)
        ]
        levels = Levels.model_validate(ind.levels) if ind.levels else None
        items.append(
            IndicatorSeries(
                indicator=ind.indicator,
                product=ind.product,
                unit=ind.unit,
                levels=levels,
                series=series,
            )
        )
    return IntensityView(site=site.code, window_hours=window_hours, indicators=items)


@router.get("/sites/{site}/budget", response_model=BudgetView)
def budget(
    site: ScopedSite,
    conn: ConnDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> BudgetView:
    now_ms = int(now_utc().timestamp() * 1000)
    this_year = year_elapsed(site.timezone, now_ms).year
    year = year or this_year
    if year > this_year:
        raise ProblemError(422, "the year has not begun")
    start_ms, end_ms = local_year_bounds(site.timezone, year)
    totals = site_period_totals(
        conn, site.id, site.timezone, _utc(start_ms), _utc(min(end_ms, now_ms + 1))
    )
    first = totals.first_bucket
    # no data: nothing covered (a past year is judged at its end)
    since_ms = now_ms if first is None else int(first.timestamp() * 1000)
    shares = year_elapsed(site.timezone, now_ms, since_ms, year)
    monthly = [MonthTotal(month=m, tce=tce, tco2=tco2) for m, tce, tco2 in totals.monthly]
    ytd = np.array([sum(m.tce for m in monthly), sum(m.tco2 for m in monthly)])
    budgets = np.array([site.energy_budget_tce or np.nan, site.carbon_budget_tco2 or np.nan])
    status = budget_status(
        ytd, budgets, np.full(2, shares.elapsed), DEFAULT_MIN_COVERED, np.full(2, shares.covered)
    )

    def figures(i: int, unit: str, value: float | None) -> BudgetFigures:
        return BudgetFigures(
            unit=unit,
            budget=value,
            ytd=float(ytd[i]),
            share_used=_finite(status.share_used[i]),
            prorated_budget=_finite(status.prorated_budget[i]),
            pace=_finite(status.pace[i]),
            projection=_finite(status.projection[i]),
            projected_share=_finite(status.projected_share[i]),
        )

    return BudgetView(
        site=site.code,
        year=year,
        elapsed=shares.elapsed,
        covered=shares.covered,
        min_covered=DEFAULT_MIN_COVERED,
        data_since=first,
        period_start=_utc(start_ms),
        period_end=_utc(end_ms),
        energy=figures(0, "tce", site.energy_budget_tce),
        carbon=figures(1, "tCO2", site.carbon_budget_tco2),
        monthly=monthly,
    )
