"""Consumption series, intensity, budget and completeness."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ConsumptionItem(BaseModel):
    t: datetime | date
    key: str
    quantity: float | None
    unit: str | None
    tce: float  # at the equivalent value (当量值)
    tco2: float
    completeness: float | None
    # the same figure with electricity at the equal value (等价值), for a site reporting on it
    tce_equal: float | None = None
    # of which non-fossil electricity (own renewables, green certificates): in tce above,
    # reported apart for the regional ledger (docs/computation.md, "Non-fossil electricity")
    non_fossil_kwh: float = 0.0
    non_fossil_tce: float = 0.0


class ConsumptionSeries(BaseModel):
    site: str
    granularity: str
    group: str
    items: list[ConsumptionItem]


class Levels(BaseModel):
    level1: float | None
    level2: float | None
    level3: float | None
    source: str
    edition: str
    valid_from: date | None = None  # first day the edition judges


class IndicatorSeries(BaseModel):
    indicator: str
    product: str | None
    unit: str
    levels: Levels | None
    series: list[tuple[datetime, float | None]]


class IntensityView(BaseModel):
    site: str
    window_hours: int
    indicators: list[IndicatorSeries]


class BudgetFigures(BaseModel):
    unit: str
    budget: float | None
    ytd: float
    share_used: float | None
    prorated_budget: float | None
    pace: float | None
    projection: float | None
    projected_share: float | None


class MonthTotal(BaseModel):
    month: str
    tce: float
    tco2: float


class BudgetView(BaseModel):
    site: str
    year: int
    period_start: datetime
    period_end: datetime
    elapsed: float = Field(description="share of the budget period gone")
    covered: float = Field(
        description="share of the period the data cover: from data_since (or the period's"
        " start) to now; the projection extrapolates this span"
    )
    min_covered: float = Field(description="below this share of data, no projection")
    data_since: datetime | None = Field(description="first 15-minute bucket with data")
    energy: BudgetFigures
    carbon: BudgetFigures
    monthly: list[MonthTotal]


class CompletenessItem(BaseModel):
    point: str
    day: date
    completeness: float


class CompletenessView(BaseModel):
    site: str
    items: list[CompletenessItem]
