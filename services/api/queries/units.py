"""Sites' process units and their points' sums over whole local days, for unit balances."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from energywatch.core.unit_balance import Flow, Unit


def units_of(conn: sa.Connection, site_ids: list[int]) -> dict[int, list[Unit]]:
    """Each site's units in the order they were registered (absent: none, one unit)."""
    rows = conn.execute(
        sa.text(
            "SELECT u.site_id, u.code, u.name, p.code AS parent, u.kind FROM process_units u"
            " LEFT JOIN process_units p ON p.id = u.parent_id"
            " WHERE u.site_id = ANY(:sites) ORDER BY u.id"
        ),
        {"sites": site_ids},
    )
    out: dict[int, list[Unit]] = {}
    for r in rows:
        out.setdefault(r.site_id, []).append(Unit(r.code, r.name, r.parent, r.kind))
    return out


def site_units(conn: sa.Connection, site_id: int) -> list[Unit]:
    return units_of(conn, [site_id]).get(site_id, [])


def day_flows_of(
    conn: sa.Connection, site_ids: list[int], first: date, end: date
) -> dict[int, list[Flow]]:
    """Each point's sums over the local days [first, end), per site (one query for all)."""
    rows = conn.execute(
        sa.text(
            """
            SELECT p.site_id, p.code, u.code AS unit, p.role, p.metering_level, p.measure,
                   p.product, sum(d.quantity) AS quantity, sum(d.tce) AS tce,
                   sum(d.tco2) AS tco2
              FROM points p
              JOIN consumption_daily d ON d.point_id = p.id AND d.day >= :first AND d.day < :end
              LEFT JOIN process_units u ON u.id = p.process_unit_id
             WHERE p.site_id = ANY(:sites)
             GROUP BY p.id, u.code ORDER BY p.site_id, p.code"""
        ),
        {"sites": site_ids, "first": first, "end": end},
    )
    out: dict[int, list[Flow]] = {}
    for r in rows:
        flow = Flow(
            r.code,
            r.unit,
            r.role,
            r.metering_level,
            r.measure,
            r.product,
            r.quantity,
            r.tce,
            r.tco2,
        )
        out.setdefault(r.site_id, []).append(flow)
    return out


def day_flows(conn: sa.Connection, site_id: int, first: date, end: date) -> list[Flow]:
    return day_flows_of(conn, [site_id], first, end).get(site_id, [])
