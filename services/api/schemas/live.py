"""The operator's live view: series, latest readings, today's totals, open alerts."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from services.api.schemas.alerts import AlertPublic
from services.api.schemas.sites import ReadingPublic


class LivePoint(BaseModel):
    code: str
    name: str | None
    measure: str
    unit: str
    kind: str
    role: str
    balance_sign: int = Field(
        description="+1 / -1: counts toward / is subtracted from the site's consumption (level-1"
        " inputs, exports); 0: not part of it (sub-meters, recovered energy, outputs)"
    )
    last: ReadingPublic | None
    series: list[tuple[datetime, float | None]]


class MeasureTotal(BaseModel):
    measure: str
    unit: str
    quantity: float
    tce: float
    tco2: float


class Today(BaseModel):
    tce: float
    tco2: float
    by_measure: list[MeasureTotal]


class LiveView(BaseModel):
    site: str
    now: datetime
    day: date
    bucket: str
    points: list[LivePoint]
    today: Today
    alerts: list[AlertPublic]


class SeriesPoint(BaseModel):
    ts: datetime
    v: float | None
    q: int | None = None


class PointSeries(BaseModel):
    point: str
    unit: str
    bucket: str
    agg: str
    items: list[SeriesPoint]
