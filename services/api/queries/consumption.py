"""Consumption, tce and tCO2 from consumption_15min and its hourly/daily/monthly views."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from energywatch.storage.balance import non_fossil_used

Granularity = Literal["15min", "hour", "day", "month"]
Group = Literal["point", "measure", "site"]


def totals_by_measure(
    conn: sa.Connection, site_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    sql = """
        SELECT p.measure, m.unit, sum(c.quantity * p.balance_sign) AS quantity,
               sum(c.tce * p.balance_sign) AS tce, sum(c.tco2 * p.balance_sign) AS tco2
          FROM consumption_15min c
          JOIN points p ON p.id = c.point_id
          JOIN measures m ON m.code = p.measure
         WHERE p.site_id = :site AND p.balance_sign <> 0
           AND c.bucket >= :s AND c.bucket < :e
         GROUP BY p.measure, m.unit ORDER BY p.measure"""
    rows = conn.execute(sa.text(sql), {"site": site_id, "s": start, "e": end}).mappings()
    return [dict(r) for r in rows]


# Grouped straight from consumption_15min with the same arithmetic as the consumption_hourly,
# _daily and _monthly views: the time range then reaches the (point_id, bucket) index, which it
# cannot through the views' GROUP BY on plain PostgreSQL.
_PERIOD = {
    "15min": ("c.bucket", "avg(c.completeness)"),
    "hour": (
        "date_bin(INTERVAL '1 hour', c.bucket, TIMESTAMPTZ '2000-01-01 00:00+00')",
        "sum(c.completeness) / 4.0 / count(DISTINCT c.point_id)",
    ),
    "day": (
        "(c.bucket AT TIME ZONE :tz)::date",
        "sum(c.completeness) / 96.0 / count(DISTINCT c.point_id)",
    ),
    "month": (
        "date_trunc('month', (c.bucket AT TIME ZONE :tz)::date)::date",
        "sum(c.completeness) / 96.0 / count(DISTINCT c.point_id)"
        " / count(DISTINCT (c.bucket AT TIME ZONE :tz)::date)",
    ),
}


# The parts of "of which non-fossil" (energywatch/storage/balance.py non_fossil_used), in kWh
# and tce, all positive: own renewable generation, green-certificate purchases, exported
# electricity (level 1, balance sign -1).
NON_FOSSIL_PARTS = ",\n".join(
    f"coalesce(sum(c.{column}) FILTER (WHERE {where}), 0) AS {part}_{unit}"
    for column, unit in (("quantity", "kwh"), ("tce", "tce"))
    for part, where in (
        ("own_renewable", "p.non_fossil = 'own_renewable'"),
        ("green_certificate", "p.non_fossil = 'green_certificate'"),
        ("export", "p.balance_sign = -1 AND p.measure = 'electricity'"),
    )
)


def non_fossil_of(row: dict[str, Any], unit: Literal["kwh", "tce"]) -> float:
    """Of which non-fossil, from the NON_FOSSIL_PARTS of a row."""
    return non_fossil_used(
        float(row[f"own_renewable_{unit}"]),
        float(row[f"green_certificate_{unit}"]),
        float(row[f"export_{unit}"]),
    )


def site_series(
    conn: sa.Connection,
    site_id: int,
    timezone: str,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    group: Group,
    limit: int,
) -> list[dict[str, Any]]:
    t, completeness = _PERIOD[granularity]
    # A point's own series as metered; measures and the site as they enter the site's
    # comprehensive consumption (level 1, exports subtracted: energywatch/storage/balance.py).
    sign = "" if group == "point" else " * p.balance_sign"
    if group == "point":
        key, quantity, unit = "p.code", "sum(c.quantity)", "max(m.unit)"
    elif group == "measure":
        key, quantity, unit = "p.measure", "sum(c.quantity * p.balance_sign)", "max(m.unit)"
    else:
        key, quantity, unit = "'site'", "NULL::float8", "NULL::text"
    role = "" if group == "point" else "AND p.balance_sign <> 0"
    sql = f"""
        SELECT {t} AS t, {key} AS key, {quantity} AS quantity, {unit} AS unit,
               sum(c.tce{sign}) AS tce, sum(c.tco2{sign}) AS tco2, {completeness} AS completeness,
               coalesce(sum(c.quantity{sign}) FILTER (WHERE p.measure = 'electricity'), 0)
                 AS electricity_kwh,
               {NON_FOSSIL_PARTS}
          FROM consumption_15min c
          JOIN points p ON p.id = c.point_id
          JOIN measures m ON m.code = p.measure
         WHERE p.site_id = :site {role} AND c.bucket >= :s AND c.bucket < :e
         GROUP BY 1, 2 ORDER BY 1, 2 LIMIT :n"""
    params = {"site": site_id, "s": start, "e": end, "tz": timezone, "n": limit}
    rows = [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    for r in rows:
        r["non_fossil_kwh"] = non_fossil_of(r, "kwh")
        r["non_fossil_tce"] = non_fossil_of(r, "tce")
    return rows
