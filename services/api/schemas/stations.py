"""Monitoring stations: the region's list and one station's series (times in ms since epoch)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StationListed(BaseModel):
    code: str
    name: str
    station_kind: str | None
    division_code: str
    latitude: float | None
    longitude: float | None
    measures: list[str]
    last_reading: datetime | None
    open_alerts: int


class FlagBand(BaseModel):
    start: int
    end: int
    quality: int  # energywatch.protocol.Quality: 2 invalid (HJ 212 F/M/D/C/T/B), 3 manual...


class StationPoint(BaseModel):
    code: str
    name: str | None
    measure: str
    unit: str
    corrected_o2: float | None
    minutes: list[tuple[int, float]]  # valid readings' minute means
    flags: list[FlagBand]  # minutes with only flagged readings
    diurnal: list[float | None] | None = None  # ambient gases: mean by local hour 0-23


class HourValue(BaseModel):
    hour: int
    mean: float | None  # at the reference O2; None below 45 valid minutes (HJ 75-2017)
    valid_minutes: int
    complete: bool  # the whole hour lies within the requested range (else it may yet be valid)
    emission_kg: float | None  # measured mean x flow mean x 1 h (docs/stacks.md)


class DayValue(BaseModel):
    day: int  # local midnight
    mean: float | None  # from valid hours; None below 20 of them (HJ 75-2017)
    valid_hours: int
    complete: bool
    emission_kg: float | None  # sum over the valid hours (invalid hours are not filled in)


class PollutantSeries(BaseModel):
    measure: str
    point: str  # the measured point (alerts are keyed on it)
    judged_point: str
    basis: str
    reference_o2: float
    limit: float | None
    limit_source: str | None
    corrected: list[tuple[int, float | None]]
    hourly: list[HourValue]
    daily: list[DayValue]


class StationSeries(BaseModel):
    site: str
    name: str
    station_kind: str | None
    timezone: str
    start: datetime
    end: datetime
    points: list[StationPoint]
    pollutants: list[PollutantSeries]


class PollutantMonth(BaseModel):
    measure: str
    point: str
    judged_point: str
    basis: str
    reference_o2: float
    days: list[DayValue]
    valid_hours: int
    emission_kg: float  # sum over the valid hours of the month (invalid hours not filled in)


class StationMonth(BaseModel):
    site: str
    month: str  # YYYY-MM, the site's local calendar
    pollutants: list[PollutantMonth]
