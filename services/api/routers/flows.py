"""Energy flows of an enterprise for a chosen day or month: the operator page's Sankey."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.api.clock import day_range, month_range, parse_month
from services.api.deps import ConnDep, ScopedSite
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.indicators import site_indicators
from services.api.queries.reports import non_fossil_tce, site_day_by_point
from services.api.schemas.energy import Levels
from services.api.schemas.flows import EnergyFlows, FlowPoint, ProductIntensity

router = APIRouter(tags=["consumption"], responses=PROBLEM_RESPONSES)


@router.get("/sites/{site}/energy-flows", response_model=EnergyFlows)
def energy_flows(
    site: ScopedSite,
    conn: ConnDep,
    day: date | None = None,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
) -> EnergyFlows:
    """Every energy point's quantity, tce and tCO2 over the local day or month, with its
    balance sign, and each product's intensity over the same period against its levels."""
    if (day is None) == (month is None):
        raise ProblemError(422, "give either day (YYYY-MM-DD) or month (YYYY-MM)")
    period: Literal["day", "month"]
    if day is not None:
        start, end = day_range(_in_range(day), site.timezone)
        period, label = "day", day.isoformat()
    else:
        try:
            first = _in_range(parse_month(month or ""))
        except ValueError as exc:
            raise ProblemError(422, str(exc)) from exc
        start, end = month_range(first, site.timezone)
        period, label = "month", first.strftime("%Y-%m")
    rows = site_day_by_point(conn, site.id, start, end)
    points = [FlowPoint.model_validate(r) for r in rows]
    # One window the length of the period, read at its last bucket with data: the period's
    # energy over its output, by the same code as the rolling intensity (queries/indicators).
    products = []
    for ind in site_indicators(
        conn, site.id, site.industry, start, end, end - start, site.timezone
    ):
        if ind.indicator != "intensity" or ind.product is None:
            continue
        last = float(ind.values[-1]) if len(ind.values) else math.nan
        products.append(
            ProductIntensity(
                product=ind.product,
                unit=ind.unit,
                value=None if math.isnan(last) else last,
                levels=Levels.model_validate(ind.levels) if ind.levels else None,
            )
        )
    return EnergyFlows(
        site=site.code,
        period=period,
        label=label,
        start=start,
        end=end,
        total_tce=sum(p.tce * p.balance_sign for p in points),
        total_tco2=sum(p.tco2 * p.balance_sign for p in points),
        non_fossil_tce=non_fossil_tce(rows),
        points=points,
        products=products,
    )


def _in_range(day: date) -> date:
    if not 2000 <= day.year <= 2100:
        raise ProblemError(422, "day out of range")
    return day
