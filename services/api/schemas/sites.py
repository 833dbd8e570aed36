"""Sites, devices and points of the registry."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SiteBase(BaseModel):
    code: str
    name: str
    kind: str
    credit_code: str | None
    division_code: str
    industry: str | None
    timezone: str
    energy_budget_tce: float | None
    carbon_budget_tco2: float | None
    factor_set: str | None
    grid_region: str
    coal_basis: str
    station_kind: str | None
    latitude: float | None
    longitude: float | None


class SitePublic(SiteBase):
    n_devices: int
    n_points: int


class SiteUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    energy_budget_tce: float | None = Field(default=None, ge=0, le=1e9)
    carbon_budget_tco2: float | None = Field(default=None, ge=0, le=1e10)
    factor_set: str | None = Field(default=None, min_length=1, max_length=100)


class DevicePublic(BaseModel):
    code: str
    protocol: str
    description: str | None
    n_points: int
    created_at: datetime


class ReadingPublic(BaseModel):
    ts: datetime
    v: float
    q: int


class PointPublic(BaseModel):
    code: str
    name: str | None
    device: str
    measure: str
    unit: str
    kind: str
    metering_level: int
    rollover: float | None
    scale: float
    role: str
    product: str | None
    process_unit: str | None = None  # code of its process unit (none: the site is one unit)


class PointDetail(PointPublic):
    last: ReadingPublic | None


class RegistryImported(BaseModel):
    sites: int
    devices: int
    points: int
