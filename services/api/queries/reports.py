"""The figures behind the daily and monthly energy and carbon reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from energywatch.core.unit_balance import site_balance
from energywatch.storage.balance import ENERGY_ROLES, non_fossil_used
from energywatch.storage.tables import RANKED_POINTS_SQL
from services.api.principal import Principal
from services.api.queries.units import day_flows_of, units_of
from services.api.scope import site_in_scope

# Every role whose rollups a report lists (energywatch/storage/balance.py says which of them
# make the site total).
REPORTED_ROLES = ", ".join(f"'{role}'" for role in ENERGY_ROLES)
# The points at the enterprise's boundary: every role but level-2/3 consumption sub-meters.
_BOUNDARY = "(p.balance_sign <> 0 OR p.role NOT IN ('consumption', 'feedstock'))"


def site_day_by_point(
    conn: sa.Connection, site_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    sql = f"""
        SELECT p.code AS point, p.name, p.measure, m.unit, p.role, p.balance_sign,
               p.non_fossil,
               coalesce(sum(c.quantity), 0) AS quantity, coalesce(sum(c.tce), 0) AS tce,
               coalesce(sum(c.tco2), 0) AS tco2,
               coalesce(sum(c.completeness), 0) / 96.0 AS completeness
          FROM points p
          JOIN measures m ON m.code = p.measure
          LEFT JOIN consumption_15min c
            ON c.point_id = p.id AND c.bucket >= :s AND c.bucket < :e
         WHERE p.site_id = :site AND p.role IN ({REPORTED_ROLES})
         GROUP BY p.code, p.name, p.measure, m.unit, p.role, p.balance_sign, p.non_fossil
         ORDER BY p.code"""
    return [
        dict(r)
        for r in conn.execute(sa.text(sql), {"site": site_id, "s": start, "e": end}).mappings()
    ]


def non_fossil_tce(rows: list[dict[str, Any]]) -> float:
    """Of which non-fossil (energywatch/storage/balance.py non_fossil_used) over rows of
    site_day_by_point, or of site_month_by_day for one day."""

    def tce(where: Any) -> float:
        return sum(float(r["tce"]) for r in rows if where(r))

    return non_fossil_used(
        tce(lambda r: r.get("non_fossil") == "own_renewable"),
        tce(lambda r: r.get("non_fossil") == "green_certificate"),
        tce(lambda r: r["role"] == "export" and r["measure"] == "electricity"),
    )


def site_month_by_day(
    conn: sa.Connection, site_id: int, timezone: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per local day, measure and role, at the enterprise's boundary (sub-meters of levels 2 and
    3 left out: they measure energy the level-1 meters already count). Completeness is over
    every point of the group, so a point without rollups that day counts as missing."""
    sql = f"""
        SELECT (c.bucket AT TIME ZONE :tz)::date AS day, p.measure, p.role,
               sum(c.quantity) AS quantity, sum(c.tce) AS tce, sum(c.tco2) AS tco2,
               coalesce(sum(c.tce) FILTER (WHERE p.non_fossil = 'own_renewable'), 0)
                 AS own_renewable_tce,
               coalesce(sum(c.tce) FILTER (WHERE p.non_fossil = 'green_certificate'), 0)
                 AS green_certificate_tce,
               sum(c.completeness) / 96.0 AS completeness_sum
          FROM consumption_15min c
          JOIN points p ON p.id = c.point_id
         WHERE p.site_id = :site AND c.bucket >= :s AND c.bucket < :e
           AND p.role IN ({REPORTED_ROLES}) AND {_BOUNDARY}
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    groups = {
        (r.measure, r.role): (r.unit, r.n)
        for r in conn.execute(
            sa.text(
                "SELECT p.measure, p.role, m.unit, count(*) AS n FROM points p"
                " JOIN measures m ON m.code = p.measure WHERE p.site_id = :site"
                f" AND {_BOUNDARY} GROUP BY 1, 2, 3"
            ),
            {"site": site_id},
        )
    }
    rows = []
    for r in conn.execute(
        sa.text(sql), {"site": site_id, "tz": timezone, "s": start, "e": end}
    ).mappings():
        unit, n = groups[(r["measure"], r["role"])]
        rows.append(
            {
                "day": r["day"],
                "measure": r["measure"],
                "unit": unit,
                "role": r["role"],
                "quantity": r["quantity"],
                "tce": r["tce"],
                "tco2": r["tco2"],
                "completeness": r["completeness_sum"] / n,
                "own_renewable_tce": r["own_renewable_tce"],
                "green_certificate_tce": r["green_certificate_tce"],
            }
        )
    _attribute_non_fossil(rows)
    return rows


def _attribute_non_fossil(rows: list[dict[str, Any]]) -> None:
    """Each day's non-fossil tce on its electricity consumption row, the exported electricity
    taken from own generation first (balance.py non_fossil_used); None on every other row."""
    export = {
        r["day"]: float(r["tce"])
        for r in rows
        if r["role"] == "export" and r["measure"] == "electricity"
    }
    for r in rows:
        own, green = r.pop("own_renewable_tce"), r.pop("green_certificate_tce")
        carries = r["role"] == "consumption" and r["measure"] == "electricity"
        r["non_fossil_tce"] = (
            non_fossil_used(own, green, export.get(r["day"], 0.0)) if carries else None
        )


# Products whose limit is set in electricity (aluminium: kWh/t) rank by that, others by kgce/t;
# a site with process units by the figures of the unit that makes the product (u).
INTENSITY = (
    "(CASE WHEN lv.indicator = 'kwh_per_t'"
    " THEN (CASE WHEN u.site_id IS NULL THEN t.kwh_per_t ELSE u.kwh_per_t END)"
    " ELSE (CASE WHEN u.site_id IS NULL THEN t.intensity ELSE u.intensity END) END)"
)
MIN_OUTPUT_T = 1e-3


def unit_figures(
    conn: sa.Connection, site_ids: list[int], first_day: date, end_day: date
) -> dict[str, list[Any]]:
    """Per site with process units: output, kgce/t and kWh/t of its (first) product over the
    local days [first_day, end_day), from the balance of the unit that makes it
    (energywatch/core/unit_balance.py); as arrays for the ranking's SQL."""
    out: dict[str, list[Any]] = {"u_site": [], "u_output": [], "u_kgce": [], "u_kwh": []}
    units = units_of(conn, site_ids)
    flows = day_flows_of(conn, site_ids, first_day, end_day)
    for site_id in site_ids:
        balance = site_balance(units.get(site_id, []), flows.get(site_id, []))
        products = sorted(p for u in balance.units for p in u.outputs)
        unit = balance.unit_of(products[0]) if products else None
        if unit is None:
            continue
        output = float(unit.outputs[products[0]])
        made = output > MIN_OUTPUT_T
        out["u_site"].append(site_id)
        out["u_output"].append(output)
        out["u_kgce"].append(1000.0 * float(unit.balance.tce) / output if made else None)
        out["u_kwh"].append(float(unit.electricity_kwh) / output if made else None)
    return out


def region_sites(
    conn: sa.Connection,
    principal: Principal,
    prefix: str,
    first_day: date,
    end_day: date,
    *,
    order: str = "code",
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Per enterprise of the region in scope: totals over local days [first_day, end_day),
    open alerts, intensity against its product's limit, use against the prorated budget."""
    scope_sql, scope_params = scope_sql_text(principal)
    with_units = conn.execute(
        sa.text(
            f"SELECT s.id FROM sites s WHERE s.kind = 'enterprise' AND s.division_code LIKE"
            f" :prefix AND {scope_sql}"
            " AND EXISTS (SELECT 1 FROM process_units u WHERE u.site_id = s.id) ORDER BY s.id"
        ),
        {"prefix": prefix + "%", **scope_params},
    ).scalars()
    units = unit_figures(conn, list(with_units), first_day, end_day)
    orders = {
        "code": "s.code",
        "tce": "t.tce DESC NULLS LAST, s.code",
        "tco2": "t.tco2 DESC NULLS LAST, s.code",
        "intensity": f"({INTENSITY} / nullif(lv.level3, 0)) DESC NULLS LAST, s.code",
        "breaches": "a.firing DESC, a.max_rank DESC, a.open DESC,"
        f" ({INTENSITY} / nullif(lv.level3, 0)) DESC NULLS LAST, t.tce DESC NULLS LAST,"
        " s.code",
    }
    sql = f"""
        WITH chosen AS (
            SELECT s.* FROM sites s
             WHERE s.kind = 'enterprise' AND s.division_code LIKE :prefix AND {scope_sql}
        ), by_unit AS (
            SELECT * FROM unnest(CAST(:u_site AS int[]), CAST(:u_output AS float8[]),
                                 CAST(:u_kgce AS float8[]), CAST(:u_kwh AS float8[]))
                       AS x(site_id, output_t, intensity, kwh_per_t)
        )
        SELECT s.code AS site, s.name, s.industry, s.division_code,
               coalesce(t.tce, 0) AS tce, coalesce(t.tco2, 0) AS tco2, t.completeness,
               CASE WHEN u.site_id IS NULL THEN t.output_t ELSE u.output_t END AS output_t,
               {INTENSITY} AS intensity, t.product, lv.unit AS intensity_unit,
               lv.level1 AS intensity_level1, lv.level3 AS intensity_level3,
               t.tce / nullif(s.energy_budget_tce * :days / 365.0, 0) AS budget_pace,
               t.tce / nullif(s.energy_budget_tce, 0) AS budget_share,
               coalesce(a.open, 0) AS open_alerts, coalesce(a.firing, 0) AS firing_alerts,
               CASE a.max_rank WHEN 3 THEN 'critical' WHEN 2 THEN 'warning' WHEN 1 THEN 'info'
               END AS max_severity
          FROM chosen s
          LEFT JOIN LATERAL (
              SELECT sum(c.tce * p.balance_sign) FILTER (WHERE p.balance_sign <> 0) AS tce,
                     sum(c.tco2 * p.balance_sign) FILTER (WHERE p.balance_sign <> 0) AS tco2,
                     sum(c.quantity) FILTER (WHERE p.role = 'output') AS output_t,
                     1000.0 * sum(c.tce * p.balance_sign) FILTER (WHERE p.balance_sign <> 0)
                       / nullif(sum(c.quantity) FILTER (WHERE p.role = 'output'), 0)
                       AS intensity,
                     -- potline AC meters (electricity naming the product) if the site has
                     -- them, else the site's net electricity
                     coalesce(
                       sum(c.quantity) FILTER (WHERE p.role = 'consumption'
                                                 AND p.measure = 'electricity'
                                                 AND p.product IS NOT NULL),
                       sum(c.quantity * p.balance_sign) FILTER (WHERE p.balance_sign <> 0
                                                                AND p.measure = 'electricity'))
                       / nullif(sum(c.quantity) FILTER (WHERE p.role = 'output'), 0)
                       AS kwh_per_t,
                     min(p.product) FILTER (WHERE p.role = 'output' AND c.point_id IS NOT NULL)
                       AS product,
                     sum(c.completeness) FILTER (WHERE p.balance_sign <> 0)
                       / nullif(count(DISTINCT p.id) FILTER (WHERE p.balance_sign <> 0), 0)
                       / :days AS completeness
                -- every boundary point, with data or not: completeness is over all of them
                FROM points p
                LEFT JOIN consumption_daily c ON c.point_id = p.id
                 AND c.day >= CAST(:d0 AS date) AND c.day < CAST(:d1 AS date)
               WHERE p.site_id = s.id AND ({RANKED_POINTS_SQL})
          ) t ON true
          LEFT JOIN by_unit u ON u.site_id = s.id
          LEFT JOIN LATERAL (
              SELECT count(*) AS open,
                     count(*) FILTER (WHERE al.state = 'firing') AS firing,
                     max(CASE al.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2
                         ELSE 1 END) FILTER (WHERE al.state = 'firing') AS max_rank
                FROM alerts al
               WHERE al.site_id = s.id AND al.state IN ('pending', 'firing')
          ) a ON true
          LEFT JOIN LATERAL (
              -- the edition in force on the last day (energywatch/core/editions.py): the
              -- latest begun by then, else the earliest
              SELECT l.* FROM intensity_levels l
               WHERE l.product = t.product
               ORDER BY l.valid_from <= CAST(:d1 AS date) - 1 DESC,
                        CASE WHEN l.valid_from <= CAST(:d1 AS date) - 1 THEN l.valid_from END DESC,
                        l.valid_from
               LIMIT 1
          ) lv ON true
         ORDER BY {orders[order]}
         LIMIT :limit OFFSET :offset"""
    params = {
        "prefix": prefix + "%",
        "d0": first_day,
        "d1": end_day,
        "days": (end_day - first_day).days,
        "limit": limit,
        "offset": offset,
        **units,
        **scope_params,
    }
    rows = [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    # Counted apart, not by a window over the ranking: the count needs the region's sites
    # only, and without a window an order by code computes the figures of the page only.
    return rows, _count(conn, principal, prefix)


def scope_sql_text(principal: Principal) -> tuple[str, dict[str, Any]]:
    """The scope as SQL text over alias `s` (kept textual to sit inside the CTE)."""
    if principal.role == "admin":
        return "true", {}
    if principal.role == "operator":
        return "s.code = :scope_site", {"scope_site": principal.scope[0]}
    parts = [f"s.division_code LIKE :scope_{i}" for i in range(len(principal.scope))]
    return "(" + " OR ".join(parts) + ")", {
        f"scope_{i}": p + "%" for i, p in enumerate(principal.scope)
    }


def _count(conn: sa.Connection, principal: Principal, prefix: str) -> int:
    from energywatch.storage.tables import sites

    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(sites)
            .where(
                sites.c.kind == "enterprise",
                sites.c.division_code.startswith(prefix),
                site_in_scope(principal),
            )
        ).scalar_one()
    )
