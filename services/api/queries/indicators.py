"""Rolling intensity, PUE, supply coal rate and budget status of a site, via the numba core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from energywatch.core.chp import TURBINE_HEAT_MEASURES, rolling_chp_supply_coal_rate
from energywatch.core.editions import in_force
from energywatch.core.indicators import (
    rolling_intensity,
    rolling_pue,
    rolling_supply_coal_rate,
)
from energywatch.core.rolling import rolling_ratio, rolling_sum
from energywatch.core.unit_balance import Flow, Unit, intensity, site_balance
from services.api.queries.units import site_units

BUCKET_MS = 15 * 60 * 1000
MIN_OUTPUT_T = 1e-3
MIN_KWH = 1e-3


@dataclass(frozen=True)
class Indicator:
    indicator: str  # intensity | pue | supply_coal_rate
    product: str | None
    unit: str
    levels: dict[str, Any] | None
    ts_ms: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class _Edition:
    valid_from: date
    row: dict[str, Any]


def product_levels(conn: sa.Connection, product: str, on: date) -> dict[str, Any] | None:
    """The edition of the product's levels in force on local day `on`."""
    rows = conn.execute(
        sa.text(
            "SELECT indicator, unit, level1, level2, level3, source, edition, valid_from"
            " FROM intensity_levels WHERE product = :p"
        ),
        {"p": product},
    ).mappings()
    found = in_force((_Edition(r["valid_from"], dict(r)) for r in rows), on)
    return found.row if found else None


def site_indicators(
    conn: sa.Connection,
    site_id: int,
    industry: str | None,
    start: datetime,
    end: datetime,
    window: timedelta,
    timezone: str,
) -> list[Indicator]:
    """Each indicator the site's points allow, on the 15-minute grid of [start, end), with
    the levels of the edition in force on the site's local day at the end of the range."""
    sql = """
        SELECT (extract(epoch FROM c.bucket) * 1000)::bigint AS ms, p.role, p.balance_sign,
               p.product, p.measure, sum(c.quantity) AS quantity, sum(c.tce) AS tce
          FROM consumption_15min c JOIN points p ON p.id = c.point_id
         WHERE p.site_id = :site AND c.bucket >= :s AND c.bucket < :e
         GROUP BY 1, 2, 3, 4, 5"""
    rows = conn.execute(sa.text(sql), {"site": site_id, "s": start - window, "e": end}).all()
    if not rows:
        return []
    first = int(min(r.ms for r in rows))
    grid_start = first - first % BUCKET_MS
    n = int((max(r.ms for r in rows) - grid_start) // BUCKET_MS) + 1
    ts = grid_start + BUCKET_MS * np.arange(n, dtype=np.int64)
    energy_tce = np.zeros(n)
    electricity_kwh = np.zeros(n)
    outputs: dict[str, np.ndarray] = {}
    it_kwh = np.zeros(n)
    supplied_kwh = np.zeros(n)
    fuel_tce = np.zeros(n)  # level-1 inputs, before exports: a CHP plant's fuel
    dedicated_kwh: dict[str, np.ndarray] = {}  # electricity metered for a product (potline AC)
    heat_sold_gj = np.zeros(n)
    turbine_gj = np.zeros(n)
    has_it = has_supply = has_turbine = False
    for r in rows:
        i = int((r.ms - grid_start) // BUCKET_MS)
        if r.product and r.role == "consumption" and r.measure == "electricity":
            dedicated_kwh.setdefault(r.product, np.zeros(n))[i] += r.quantity
        if r.balance_sign < 0 and r.measure in TURBINE_HEAT_MEASURES:
            heat_sold_gj[i] += r.quantity
        elif r.balance_sign > 0:
            fuel_tce[i] += r.tce
        if r.balance_sign:  # the site's energy balance (energywatch/storage/balance.py)
            energy_tce[i] += r.balance_sign * r.tce
            if r.measure == "electricity":
                electricity_kwh[i] += r.balance_sign * r.quantity
        elif r.role == "output" and r.product:
            outputs.setdefault(r.product, np.zeros(n))[i] += r.quantity
        elif r.role == "it_load":
            it_kwh[i] += r.quantity
            has_it = True
        elif r.role == "supply":
            supplied_kwh[i] += r.quantity
            has_supply = True
        elif r.role == "turbine_heat":
            turbine_gj[i] += r.quantity
            has_turbine = True
    offsets = np.array([0, n], dtype=np.int64)
    window_ms = int(window.total_seconds() * 1000)
    keep = ts >= int(start.timestamp() * 1000)
    out: list[Indicator] = []
    units = site_units(conn, site_id)
    by_unit = (
        _unit_intensities(conn, site_id, units, start - window, end, ts, window_ms) if units else {}
    )
    day = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(timezone)).date()
    for product, output in sorted(outputs.items()):
        levels = product_levels(conn, product, day)
        kwh_per_t = bool(levels and levels["indicator"] == "kwh_per_t")
        if product in by_unit:  # the energy of the boundary of the unit that makes it
            kgce, kwh = by_unit[product]
            values, unit = (kwh, "kWh/t") if kwh_per_t else (kgce, "kgce/t")
        elif kwh_per_t:
            kwh = dedicated_kwh.get(product, electricity_kwh)
            values = rolling_ratio(offsets, ts, kwh, output, window_ms, MIN_OUTPUT_T)
            unit = "kWh/t"
        else:
            values = rolling_intensity(offsets, ts, energy_tce, output, window_ms, MIN_OUTPUT_T)
            unit = "kgce/t"
        out.append(Indicator("intensity", product, unit, levels, ts[keep], values[keep]))
    if has_it:
        values = rolling_pue(offsets, ts, electricity_kwh, it_kwh, window_ms, MIN_KWH)
        out.append(
            Indicator(
                "pue",
                None,
                "ratio",
                product_levels(conn, "data_centre", day),
                ts[keep],
                values[keep],
            )
        )
    if has_supply and has_turbine:  # CHP: DL/T 904 heat ratio (energywatch/core/chp.py)
        values = rolling_chp_supply_coal_rate(
            offsets, ts, fuel_tce, heat_sold_gj, turbine_gj, supplied_kwh, window_ms, MIN_KWH, 0.0
        )
    elif has_supply:
        values = rolling_supply_coal_rate(offsets, ts, energy_tce, supplied_kwh, window_ms, MIN_KWH)
    if has_supply:
        out.append(
            Indicator(
                "supply_coal_rate",
                None,
                "gce/kWh",
                product_levels(conn, "coal_power", day),
                ts[keep],
                values[keep],
            )
        )
    return out


def _unit_intensities(
    conn: sa.Connection,
    site_id: int,
    units: list[Unit],
    start: datetime,
    end: datetime,
    ts: np.ndarray,
    window_ms: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per product of a site with process units: (kgce/t, kWh/t) over each trailing window,
    its unit's balance over its output (energywatch/core/unit_balance.py), on the grid `ts`."""
    sql = """
        SELECT (extract(epoch FROM c.bucket) * 1000)::bigint AS ms, p.code, u.code AS unit,
               p.role, p.metering_level, p.measure, p.product,
               c.quantity, c.tce, c.tco2
          FROM consumption_15min c JOIN points p ON p.id = c.point_id
          LEFT JOIN process_units u ON u.id = p.process_unit_id
         WHERE p.site_id = :site AND c.bucket >= :s AND c.bucket < :e"""
    n = ts.shape[0]
    points: dict[str, tuple[Any, ...]] = {}
    sums: dict[str, np.ndarray] = {}
    for r in conn.execute(sa.text(sql), {"site": site_id, "s": start, "e": end}):
        if r.code not in sums:
            points[r.code] = (r.unit, r.role, r.metering_level, r.measure, r.product)
            sums[r.code] = np.zeros((3, n))
        i = int((r.ms - ts[0]) // BUCKET_MS)
        sums[r.code][:, i] += (r.quantity, r.tce, r.tco2)
    if not sums:
        return {}
    codes = list(sums)
    # Every point and column is one series on the same grid: one pass of the kernel.
    stacked = np.concatenate([sums[c] for c in codes])
    offsets = np.arange(stacked.shape[0] + 1, dtype=np.int64) * n
    rolled = rolling_sum(offsets, np.tile(ts, stacked.shape[0]), stacked.ravel(), window_ms)
    rolled = rolled.reshape(len(codes), 3, n)
    flows = [Flow(code, *points[code], *rolled[k]) for k, code in enumerate(codes)]
    balance = site_balance(units, flows)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for u in balance.units:
        for product in u.outputs:
            _, output, kgce = intensity(balance, product, MIN_OUTPUT_T)
            ok = np.abs(output) > MIN_OUTPUT_T
            kwh = np.where(ok, np.asarray(u.electricity_kwh) / np.where(ok, output, 1.0), np.nan)
            out[product] = (np.asarray(kgce), kwh)
    return out
