"""Unit balances of a site for a local day or month: process units, unmetered, products."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from energywatch.core.unit_balance import (
    Energy,
    MeasureFlow,
    SiteBalance,
    UnitBalance,
    intensity,
    site_balance,
)
from services.api.clock import next_month, parse_month
from services.api.deps import ConnDep, ScopedSite
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.indicators import MIN_OUTPUT_T, product_levels
from services.api.queries.units import day_flows, site_units
from services.api.schemas.energy import Levels
from services.api.schemas.units import Amount, FlowItem, ProductItem, UnitBalanceView, UnitItem

router = APIRouter(tags=["consumption"], responses=PROBLEM_RESPONSES)


def _period(day: date | None, month: str | None) -> tuple[date, date]:
    if (day is None) == (month is None):
        raise ProblemError(422, "give either day (YYYY-MM-DD) or month (YYYY-MM)")
    if day is not None:
        first, end = day, day + timedelta(days=1)
    else:
        try:
            first = parse_month(month or "")
        except ValueError as exc:
            raise ProblemError(422, str(exc)) from exc
        end = next_month(first)
    if not 2000 <= first.year <= 2100:
        raise ProblemError(422, "day or month out of range")
    return first, end


def _amount(e: Energy) -> Amount:
    return Amount(tce=float(e.tce), tco2=float(e.tco2))


def _flows(flows: tuple[MeasureFlow, ...]) -> list[FlowItem]:
    return [
        FlowItem(
            measure=f.measure, quantity=float(f.quantity), tce=float(f.tce), tco2=float(f.tco2)
        )
        for f in flows
    ]


def _products(
    conn: ConnDep, balance: SiteBalance, unit: UnitBalance, last_day: date
) -> list[ProductItem]:
    items = []
    for product in sorted(unit.outputs):
        levels = product_levels(conn, product, last_day)  # the edition in force on it
        energy, output, kgce_per_t = intensity(balance, product, MIN_OUTPUT_T)
        if levels and levels["indicator"] == "kwh_per_t":
            value = float(unit.electricity_kwh) / float(output) if output > MIN_OUTPUT_T else None
            per_t = "kWh/t"
        else:
            value, per_t = float(kgce_per_t), "kgce/t"
        items.append(
            ProductItem(
                product=product,
                output_t=float(output),
                energy_tce=float(energy),
                intensity=None if value is None or math.isnan(value) else value,
                unit=per_t,
                levels=Levels.model_validate(levels) if levels else None,
            )
        )
    return items


@router.get("/sites/{site}/units/balance", response_model=UnitBalanceView)
def unit_balances(
    site: ScopedSite,
    conn: ConnDep,
    day: date | None = None,
    month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
) -> UnitBalanceView:
    first, end = _period(day, month)
    balance = site_balance(site_units(conn, site.id), day_flows(conn, site.id, first, end))
    return UnitBalanceView(
        site=site.code,
        first_day=first,
        last_day=end - timedelta(days=1),
        total=_amount(balance.total),
        inputs=_flows(balance.inputs),
        exports=_flows(balance.exports),
        units=[
            UnitItem(
                code=u.code,
                name=u.name,
                parent=u.parent,
                kind=u.kind,
                inputs=_flows(u.inputs),
                recovered=_flows(u.recovered),
                own=_amount(u.own),
                allocated=_amount(u.allocated),
                balance=_amount(u.balance),
                products=_products(conn, balance, u, end - timedelta(days=1)),
            )
            for u in balance.units
        ],
        unmetered=_amount(balance.unmetered),
    )
