"""The site's energy and carbon per local month of a period, and when its data begin."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa


class PeriodTotals(NamedTuple):
    monthly: list[tuple[str, float, float]]  # (YYYY-MM, tce, tCO2), in the site's balance
    first_bucket: datetime | None  # the first 15-minute bucket with data in the period


def site_period_totals(
    conn: sa.Connection, site_id: int, timezone: str, start: datetime, end: datetime
) -> PeriodTotals:
    # Level-1 inputs less exports (energywatch/storage/balance.py), as every site total.
    sql = """
        SELECT to_char(date_trunc('month', c.bucket AT TIME ZONE :tz), 'YYYY-MM') AS month,
               sum(c.tce * p.balance_sign) AS tce, sum(c.tco2 * p.balance_sign) AS tco2,
               min(c.bucket) AS first_bucket
          FROM consumption_15min c JOIN points p ON p.id = c.point_id
         WHERE p.site_id = :site AND p.balance_sign <> 0 AND c.bucket >= :s AND c.bucket < :e
         GROUP BY 1 ORDER BY 1"""
    rows = conn.execute(sa.text(sql), {"tz": timezone, "site": site_id, "s": start, "e": end}).all()
    firsts = [r.first_bucket for r in rows]
    return PeriodTotals(
        [(r.month, float(r.tce), float(r.tco2)) for r in rows], min(firsts) if firsts else None
    )
