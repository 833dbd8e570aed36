"""Monitoring stations: a region's stacks and greenhouse-gas stations, and one station's
series: measured and O2-corrected pollutants with hourly validity, amounts and limits, O2,
flow, temperature, gases with their diurnal profile, flagged minutes as bands
(docs/stacks.md, docs/api.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from energywatch.core.series import F64, I64
from energywatch.core.stacks import (
    DAY_MS,
    HOUR_MS,
    BlockMeans,
    basis_of,
    block_means,
    daily_means,
    emission_kg,
    flag_bands,
    hourly_means,
    judged_minutes,
    pick_source,
)
from services.alerting.rules import default_rules
from services.api.clock import in_supported_years, month_range
from services.api.deps import ConnDep, CurrentUser, ScopedRegion, ScopedSite
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.stations import (
    Minutes,
    StationPointRow,
    diurnal_profile,
    minute_means,
    region_stations,
    station_kind,
    station_points,
)
from services.api.routers.reports import month_param
from services.api.schemas.stations import (
    DayValue,
    FlagBand,
    HourValue,
    PollutantMonth,
    PollutantSeries,
    StationListed,
    StationMonth,
    StationPoint,
    StationSeries,
)

router = APIRouter(tags=["stations"], responses=PROBLEM_RESPONSES)

MAX_RANGE = timedelta(days=7)
DEFAULT_REFERENCE_O2 = 6.0  # coal-fired boilers, GB 13223-2011 clause 5.2
POLLUTANTS = ("so2", "nox", "particulates")
_NO_MINUTES: tuple[I64, F64] = (np.empty(0, np.int64), np.empty(0))


@router.get("/regions/{division}/stations", response_model=list[StationListed])
def list_stations(division: ScopedRegion, user: CurrentUser, conn: ConnDep) -> list[StationListed]:
    return [StationListed.model_validate(r) for r in region_stations(conn, user, division)]


def shipped_limits() -> dict[str, tuple[float, float, str]]:
    """measure -> (critical threshold, reference O2, source) of the shipped pollutant rules."""
    out: dict[str, tuple[float, float, str]] = {}
    for rule in default_rules():
        critical = rule.effective_thresholds.get("critical")
        if rule.kind == "pollutant" and rule.select.measure and isinstance(critical, float | int):
            ref = rule.reference_o2 if rule.reference_o2 is not None else DEFAULT_REFERENCE_O2
            out[rule.select.measure] = (float(critical), ref, rule.source)
    return out


def _series(minutes: Minutes, point: StationPointRow | None) -> tuple[I64, F64]:
    if point is None:
        return _NO_MINUTES
    return minutes.minutes[point.id], minutes.values[point.id]


def _pairs(at: I64, values: F64) -> list[tuple[int, float | None]]:
    return [(int(t), _number(float(v))) for t, v in zip(at, values, strict=True)]


def _on_device(pts: list[StationPointRow], device: int, measure: str) -> StationPointRow | None:
    return next((p for p in pts if p.device_id == device and p.measure == measure), None)


def _pollutants(
    pts: list[StationPointRow],
    minutes: Minutes,
    reference_o2: float | None,
    span_ms: tuple[int, int, int],
) -> list[PollutantSeries]:
    """Per device and pollutant, the values a limit is judged on, as the rules judge them
    (energywatch/core/stacks.py pick_source, judged_minutes)."""
    limits = shipped_limits()
    groups: dict[tuple[int, str], list[StationPointRow]] = {}
    for p in pts:
        if p.measure in POLLUTANTS:
            groups.setdefault((p.device_id, p.measure), []).append(p)
    out = []
    start_ms, end_ms, offset_ms = span_ms
    for (device, measure), members in groups.items():
        limit = limits.get(measure)
        ref = (
            reference_o2
            if reference_o2 is not None
            else (limit[1] if limit else DEFAULT_REFERENCE_O2)
        )
        measured = [p for p in members if p.corrected_o2 is None]
        judged = members[pick_source([p.corrected_o2 for p in members], ref)]
        o2 = _on_device(pts, device, "o2")
        basis = basis_of(judged.corrected_o2, o2 is not None)
        values = judged_minutes(
            basis, *_series(minutes, judged), ref, judged.corrected_o2, *_series(minutes, o2)
        )
        # Mass leaves the stack at the measured concentration: a logger-only (Zs) pollutant
        # has no amount.
        conc = hourly_means(*_series(minutes, measured[0] if measured else None))
        flow = hourly_means(*_series(minutes, _on_device(pts, device, "flue_gas_flow")))
        hours = _hours(hourly_means(values.minute, values.value), conc, flow, end_ms)
        shown = values.minute >= start_ms
        out.append(
            PollutantSeries(
                measure=measure,
                point=(measured or members)[0].code,
                judged_point=judged.code,
                basis=basis,
                reference_o2=ref,
                limit=limit[0] if limit else None,
                limit_source=limit[2] if limit else None,
                corrected=_pairs(values.minute[shown], values.value[shown]),
                hourly=[h for h in hours if h.hour + HOUR_MS > start_ms],
                daily=_days(hours, offset_ms, end_ms),
            )
        )
    return out


def _hours(hours: BlockMeans, conc: BlockMeans, flow: BlockMeans, end_ms: int) -> list[HourValue]:
    """Clock hours: the corrected mean (45 valid minutes or none) and the mass emitted
    (measured concentration x flow, both valid hourly means)."""

    def by_hour(b: BlockMeans) -> dict[int, tuple[float, int]]:
        pairs = zip(b.mean.tolist(), b.members.tolist(), strict=True)
        return dict(zip(b.start.tolist(), pairs, strict=True))

    judged, measured, flows = by_hour(hours), by_hour(conc), by_hour(flow)
    at = sorted(judged.keys() | measured.keys())
    nothing = (np.nan, 0)
    kg = emission_kg(
        np.array([measured.get(h, nothing)[0] for h in at]),
        np.array([flows.get(h, nothing)[0] for h in at]),
    )
    return [
        HourValue(
            hour=h,
            mean=_number(judged.get(h, nothing)[0]),
            valid_minutes=judged.get(h, nothing)[1],
            complete=h + HOUR_MS <= end_ms,
            emission_kg=_number(float(k)),
        )
        for h, k in zip(at, kg, strict=True)
    ]


def _number(v: float) -> float | None:
    return None if v != v else v


def _days(hours: list[HourValue], offset_ms: int, end_ms: int) -> list[DayValue]:
    """Local days: the mean of valid hourly means (20 valid hours or none), the kg of the
    valid hours."""
    at = np.array([h.hour for h in hours], dtype=np.int64)
    means = np.array([np.nan if h.mean is None else h.mean for h in hours])
    kg = np.array([np.nan if h.emission_kg is None else h.emission_kg for h in hours])
    days = daily_means(at, means, offset_ms)
    totals = block_means(at, kg, DAY_MS, 1, offset_ms)
    kg_of = dict(zip(totals.start.tolist(), (totals.mean * totals.members).tolist(), strict=True))
    return [
        DayValue(
            day=int(d),
            mean=None if m != m else float(m),
            valid_hours=int(n),
            complete=int(d) + DAY_MS <= end_ms,
            emission_kg=kg_of.get(int(d)),
        )
        for d, m, n in zip(days.start, days.mean, days.members, strict=True)
    ]


def _offset_ms(ts: datetime, timezone: str) -> int:
    """The zone's UTC offset at ts: where its local days begin (whole-day offsets assumed
    over the span, as for China)."""
    offset = ts.astimezone(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() * 1000)


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _point(
    p: StationPointRow, minutes: Minutes, diurnal: list[float | None] | None, start_ms: int
) -> StationPoint:
    flagged = minutes.flagged[p.id]
    bands = flag_bands(
        np.array([m for m, _ in flagged], dtype=np.int64),
        np.array([q for _, q in flagged], dtype=np.int64),
    )
    return StationPoint(
        code=p.code,
        name=p.name,
        measure=p.measure,
        unit=p.unit,
        corrected_o2=p.corrected_o2,
        minutes=[
            (t, v) for t, v in _pairs(*_series(minutes, p)) if v is not None and t >= start_ms
        ],
        flags=[
            FlagBand(start=b.start, end=b.end, quality=b.quality) for b in bands if b.end > start_ms
        ],
        diurnal=diurnal,
    )


@router.get("/sites/{site}/station", response_model=StationSeries)
def station_series(
    site: ScopedSite,
    conn: ConnDep,
    start: AwareDatetime,
    end: AwareDatetime,
    reference_o2: Annotated[
        float | None, Query(ge=0, lt=21, description="default: the shipped rule's")
    ] = None,
) -> StationSeries:
    if not in_supported_years(start, end):
        raise ProblemError(422, "start and end must lie between 1990 and 2200")
    if end <= start or end - start > MAX_RANGE:
        raise ProblemError(422, "end must be after start, at most 7 days later")
    pts = station_points(conn, site.id)
    # From the local midnight before start: the first day and hour are judged on all their
    # minutes.
    local = start.astimezone(ZoneInfo(site.timezone))
    offset_ms = _offset_ms(start, site.timezone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = minute_means(conn, [p.id for p in pts], midnight, end)
    gases = [p.id for p in pts if p.measure.endswith("_ambient")]
    diurnal = diurnal_profile(conn, gases, start, end, site.timezone) if gases else {}
    return StationSeries(
        site=site.code,
        name=site.name,
        station_kind=station_kind(conn, site.id),
        timezone=site.timezone,
        start=start,
        end=end,
        points=[_point(p, minutes, diurnal.get(p.id), _ms(start)) for p in pts],
        pollutants=_pollutants(pts, minutes, reference_o2, (_ms(start), _ms(end), offset_ms)),
    )


@router.get("/sites/{site}/station/emissions", response_model=StationMonth)
def station_month(
    site: ScopedSite,
    conn: ConnDep,
    month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")],
    reference_o2: Annotated[
        float | None, Query(ge=0, lt=21, description="default: the shipped rule's")
    ] = None,
) -> StationMonth:
    """A month of a stack: daily means from valid hours and the kg emitted, per pollutant."""
    start, end = month_range(month_param(month), site.timezone)
    pts = station_points(conn, site.id)
    minutes = minute_means(conn, [p.id for p in pts], start, end)
    offset_ms = _offset_ms(start, site.timezone)
    found = _pollutants(pts, minutes, reference_o2, (_ms(start), _ms(end), offset_ms))
    return StationMonth(
        site=site.code,
        month=month,
        pollutants=[
            PollutantMonth(
                measure=p.measure,
                point=p.point,
                judged_point=p.judged_point,
                basis=p.basis,
                reference_o2=p.reference_o2,
                days=p.daily,
                valid_hours=sum(h.mean is not None for h in p.hourly),
                emission_kg=sum(d.emission_kg or 0.0 for d in p.daily),
            )
            for p in found
        ],
    )
