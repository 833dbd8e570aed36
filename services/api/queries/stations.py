"""Monitoring stations: the list of a region's stations, their points, minute means of valid
readings with the flagged minutes beside them, and the diurnal profile of a gas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from energywatch.core.series import F64, I64
from energywatch.protocol import Quality
from energywatch.storage.alerting_tables import alerts
from energywatch.storage.tables import points, readings, sites
from services.api.principal import Principal
from services.api.scope import site_in_scope


def region_stations(conn: sa.Connection, user: Principal, division: str) -> list[dict[str, Any]]:
    """Stations of a division prefix in the caller's scope, with their newest reading and how
    many alerts are open on them."""
    newest = (
        sa.select(sa.func.max(readings.c.ts))
        .select_from(readings.join(points, points.c.id == readings.c.point_id))
        .where(points.c.site_id == sites.c.id)
        .scalar_subquery()
    )
    open_alerts = (
        sa.select(sa.func.count())
        .where(alerts.c.site_id == sites.c.id, alerts.c.state.in_(("pending", "firing")))
        .scalar_subquery()
    )
    measures = (
        sa.select(sa.func.array_agg(sa.distinct(points.c.measure)))
        .where(points.c.site_id == sites.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            sites.c.code,
            sites.c.name,
            sites.c.station_kind,
            sites.c.division_code,
            sites.c.latitude,
            sites.c.longitude,
            measures.label("measures"),
            newest.label("last_reading"),
            open_alerts.label("open_alerts"),
        )
        .where(
            sites.c.kind == "station",
            sites.c.division_code.startswith(division, autoescape=True),
            site_in_scope(user),
        )
        .order_by(sites.c.station_kind, sites.c.code)
    ).mappings()
    return [{**r, "measures": sorted(r["measures"] or [])} for r in rows]


@dataclass(frozen=True)
class StationPointRow:
    id: int
    code: str
    name: str | None
    measure: str
    unit: str
    device_id: int
    corrected_o2: float | None


def station_kind(conn: sa.Connection, site_id: int) -> str | None:
    return conn.execute(
        sa.select(sites.c.station_kind).where(sites.c.id == site_id)
    ).scalar_one_or_none()


def station_points(conn: sa.Connection, site_id: int) -> list[StationPointRow]:
    rows = conn.execute(
        sa.select(
            points.c.id,
            points.c.code,
            points.c.name,
            points.c.measure,
            points.c.unit,
            points.c.device_id,
            points.c.corrected_o2,
        )
        .where(points.c.site_id == site_id)
        .order_by(points.c.code)
    )
    return [StationPointRow(*r) for r in rows]


@dataclass(frozen=True)
class Minutes:
    """Per point: minutes (ms) holding a valid reading with their mean; minutes holding only
    flagged readings with the worst quality among them."""

    minutes: dict[int, I64]
    values: dict[int, F64]
    flagged: dict[int, list[tuple[int, int]]]


_MINUTES_SQL = sa.text(
    "SELECT point_id, (floor(extract(epoch FROM ts) / 60) * 60000)::bigint AS minute,"
    " avg(value) FILTER (WHERE quality = :good), max(quality)"
    " FROM readings WHERE point_id = ANY(:ids) AND ts >= :s AND ts < :e"
    " GROUP BY 1, 2 ORDER BY 1, 2"
)


def minute_means(
    conn: sa.Connection, point_ids: list[int], start: datetime, end: datetime
) -> Minutes:
    grouped: dict[int, list[tuple[int, float]]] = {p: [] for p in point_ids}
    flagged: dict[int, list[tuple[int, int]]] = {p: [] for p in point_ids}
    params = {"ids": point_ids, "s": start, "e": end, "good": int(Quality.GOOD)}
    for point_id, minute, mean, worst in conn.execute(_MINUTES_SQL, params):
        if mean is None:
            flagged[point_id].append((int(minute), int(worst)))
        else:
            grouped[point_id].append((int(minute), float(mean)))
    return Minutes(
        {p: np.array([m for m, _ in g], dtype=np.int64) for p, g in grouped.items()},
        {p: np.array([v for _, v in g], dtype=np.float64) for p, g in grouped.items()},
        flagged,
    )


def diurnal_profile(
    conn: sa.Connection, point_ids: list[int], start: datetime, end: datetime, timezone: str
) -> dict[int, list[float | None]]:
    """Per point, the mean of valid readings by local hour of day (0-23), None where none."""
    out: dict[int, list[float | None]] = {p: [None] * 24 for p in point_ids}
    rows = conn.execute(
        sa.text(
            "SELECT point_id, extract(hour FROM ts AT TIME ZONE :tz)::int, avg(value)"
            " FROM readings WHERE point_id = ANY(:ids) AND ts >= :s AND ts < :e"
            " AND quality = :good GROUP BY 1, 2"
        ),
        {"ids": point_ids, "s": start, "e": end, "tz": timezone, "good": int(Quality.GOOD)},
    )
    for point_id, hour, mean in rows:
        out[point_id][hour] = float(mean)
    return out
