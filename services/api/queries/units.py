"""A site's process units and its points' sums over whole local days, for unit balances."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from energywatch.core.unit_balance import Flow, Unit


def site_units(conn: sa.Connection, site_id: int) -> list[Unit]:
    """The site's units, in the order they were registered (none: the site is one unit)."""
    rows = conn.execute(
        sa.text(
            "SELECT u.code, u.name, p.code AS parent, u.kind FROM process_units u"
            " LEFT JOIN process_units p ON p.id = u.parent_id"
            " WHERE u.site_id = :site ORDER BY u.id"
        ),
        {"site": site_id},
    )
    return [Unit(r.code, r.name, r.parent, r.kind) for r in rows]


def day_flows(conn: sa.Connection, site_id: int, first: date, end: date) -> list[Flow]:
    """Each energy or output point's sums over the local days [first, end)."""
    rows = conn.execute(
        sa.text(
            """
            SELECT p.code, u.code AS unit, p.role, p.metering_level, p.measure, p.product,
                   sum(d.quantity) AS quantity, sum(d.tce) AS tce, sum(d.tco2) AS tco2
              FROM points p
              JOIN consumption_daily d ON d.point_id = p.id AND d.day >= :first AND d.day < :end
              LEFT JOIN process_units u ON u.id = p.process_unit_id
             WHERE p.site_id = :site
             GROUP BY p.id, u.code ORDER BY p.code"""
        ),
        {"site": site_id, "first": first, "end": end},
    )
    return [
        Flow(r.code, r.unit, r.role, r.metering_level, r.measure, r.product, *r[6:9]) for r in rows
    ]
