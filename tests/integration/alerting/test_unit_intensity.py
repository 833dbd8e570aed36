"""An intensity rule charges a product its own unit's balance (docs/computation.md, "Process
units"): a converter shop at -28 kgce/t inside a steel works raises no alert against the
GB 21256 converter levels, although the works as a whole uses far more than it recovers."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import psycopg
import pytest

from services.alerting.inputs import CycleInputs
from services.alerting.measure import measure
from services.alerting.registry import load_registry
from services.alerting.rollup_cache import RollupCache
from services.alerting.rules import parse_rule
from tests.integration.alerting.support import add_buckets, add_point, add_site

Q = timedelta(minutes=15)
RULE = {
    "kind": "intensity",
    "select": {"product": "converter_steel"},
    "window": "1h",
    # level2 -25 and level3 -10 kgce/t (GB 21256, energywatch/reference/data)
    "thresholds": {"warning": "level2", "critical": "level3"},
}


def _unit(conn: psycopg.Connection, site: int, code: str) -> int:
    row = conn.execute(
        "INSERT INTO process_units (site_id, code, name) VALUES (%s, %s, %s) RETURNING id",
        (site, code, code),
    ).fetchone()
    assert row
    return int(row[0])


def _point(
    conn: psycopg.Connection,
    site: int,
    code: str,
    measure_: str,
    process_unit: int | None,
    level: int,
    per_bucket: tuple[float, float],
    t: datetime,
    role: str = "consumption",
    unit: str = "kWh",
    product: str | None = None,
) -> None:
    """A point of `process_unit` at `level`, (quantity, tce) in each of the 4 buckets before t."""
    point = add_point(conn, site, code, measure_, role=role, unit=unit, product=product)
    conn.execute(
        "UPDATE points SET process_unit_id = %s, metering_level = %s WHERE id = %s",
        (process_unit, level, point),
    )
    quantity, tce = per_bucket
    add_buckets(conn, point, [(t - Q * (k + 1), quantity, tce, 0.0, 1.0) for k in range(4)])


def _steel_works(conn: psycopg.Connection, t: datetime, with_units: bool) -> None:
    site = add_site(conn, "STEEL1", industry="steel")
    bof, roll = _unit(conn, site, "BOF"), _unit(conn, site, "ROLL")
    # Over the hour: the works takes 200 tce; the converter shop 20 tce of it and recovers
    # 48 tce of gas and steam (used by the mill or sold); it makes 1,000 t of steel.
    _point(conn, site, "E00", "electricity", None, 1, (400_000.0, 50.0), t)
    _point(conn, site, "E30", "electricity", bof, 2, (40_000.0, 5.0), t)
    _point(conn, site, "S30", "steam", bof, 2, (350.0, 12.0), t, role="recovered", unit="GJ")
    _point(conn, site, "E40", "electricity", roll, 2, (360_000.0, 45.0), t)
    _point(
        conn,
        site,
        "P30",
        "product",
        bof,
        1,
        (250.0, 0.0),
        t,
        role="output",
        product="converter_steel",
        unit="t",
    )
    if not with_units:  # the same meters in a registry without units: one unit, the site
        conn.execute("UPDATE points SET process_unit_id = NULL")
        conn.execute("DELETE FROM process_units")


@pytest.mark.parametrize("with_units", [True, False], ids=["units", "no-units"])
def test_a_converter_shop_at_minus_28_raises_no_alert(
    conn: psycopg.Connection, t0: datetime, make_evaluator, with_units: bool
) -> None:
    _steel_works(conn, t0, with_units)
    reg = load_registry(conn)
    rule = parse_rule({"name": "bof", **RULE})
    cache = RollupCache()
    with conn.transaction():
        cache.refresh(conn, list(reg.points), reg.summed_points)
        cached = measure(rule, reg, CycleInputs(conn, t0, cache, reg))
        plain = measure(rule, reg, CycleInputs(conn, t0))
    np.testing.assert_allclose(cached.value, plain.value, rtol=1e-12)
    make_evaluator([{"name": "bof", **RULE}]).cycle(t0)
    alerts = conn.execute("SELECT severity, value FROM alerts WHERE rule = 'bof'").fetchall()
    if with_units:
        # (20 - 48) tce x 1000 / 1,000 t: better than level 2, no alert
        assert plain.value.tolist() == pytest.approx([-28.0])
        assert alerts == []
    else:
        # Charged the whole works' 200 tce, as before units existed: critical.
        assert plain.value.tolist() == pytest.approx([200.0])
        assert [(s, pytest.approx(v)) for s, v in alerts] == [("critical", 200.0)]
