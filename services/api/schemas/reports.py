"""Rows of the reports and of the regional ranking."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class RegionSite(BaseModel):
    site: str
    name: str
    industry: str | None
    division_code: str
    tce: float
    tco2: float
    completeness: float | None
    output_t: float | None
    intensity: float | None
    product: str | None
    intensity_unit: str | None
    intensity_level1: float | None
    intensity_level3: float | None
    budget_pace: float | None  # period use / (annual budget prorated to the period)
    budget_share: float | None  # period use / annual budget
    open_alerts: int
    firing_alerts: int
    max_severity: str | None


class Ranking(BaseModel):
    division: str
    period: str
    first_day: date
    end_day: date
    by: str
    items: list[RegionSite]
    total: int
    limit: int
    offset: int


class RegionTotal(BaseModel):
    t: date
    tce: float
    tco2: float
    n_sites: int


class RegionConsumption(BaseModel):
    division: str
    granularity: str
    items: list[RegionTotal]
