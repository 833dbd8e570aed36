"""The operator page of a site with process units: the integrated steel works of
docs/computation.md ("steel-works-day"), registered from a registry file with its units and
seeded with one 15-minute bucket per meter of the page's day. The units' table and the Sankey's
unit level must show the page's hand-computed figures, the "unmetered and losses" row with
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from energywatch.storage import daily
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from energywatch.storage.tables import consumption_15min, points
from services.api.accounts import create_user
from tests.e2e.conftest import log_in
from tests.e2e.processes import running_api
from tests.integration.api.test_unit_balances import (
    close,
    local_midnight,
    registry_file,
    steel_works_day,
)

pytestmark = [pytest.mark.browser, pytest.mark.browser_timezone("UTC")]

OPERATOR = ("op-steel", "operator-pass-1")
# The doc's meters (tests/integration/api/test_unit_balances.py): register at 00:00 and 24:00.
START, END = 4, 5


def _kgce_per_unit(conn: sa.Connection, day: object) -> dict[str, float]:
    """The equivalent values in force on the day, as the registry's database holds them."""
    sql = """SELECT DISTINCT ON (measure) measure, kgce_per_unit FROM coal_coefficients
             WHERE basis = 'equivalent' AND valid_from <= :day
             ORDER BY measure, valid_from DESC"""
    return {r.measure: r.kgce_per_unit for r in conn.execute(sa.text(sql), {"day": day})}


@pytest.fixture
def works(db_url: str, tmp_path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """The works registered and its day seeded; answers the page's document and the API URL."""
    doc = steel_works_day()
    site = doc["site"]["code"]
    engine = make_engine(db_url, pool_size=1)
    try:
        import_registry_file(engine, registry_file(doc, tmp_path / "steel.yaml"))
        with engine.begin() as conn:
            create_user(conn, OPERATOR[0], OPERATOR[1], "operator", site)
            kgce = _kgce_per_unit(conn, doc["day"])
            ids = {r.code: r.id for r in conn.execute(sa.select(points.c.code, points.c.id))}
            noon = local_midnight(doc) + timedelta(hours=12)
            rows = []
            for code, row in doc["meters"].items():
                quantity = row[END] - row[START]
                tce = quantity * kgce.get(row[3], 0.0) / 1000
                rows.append(_bucket(ids[code], noon, quantity, tce))
            conn.execute(consumption_15min.insert(), rows)
            daily.refresh_all(conn)
    finally:
        engine.dispose()
    with running_api(db_url, tmp_path) as url:
        yield doc, url


def _bucket(point_id: int, bucket: datetime, quantity: float, tce: float) -> dict[str, object]:
    return {
        "point_id": point_id,
        "bucket": bucket,
        "quantity": quantity,
        "tce": tce,
        "tco2": 0.0,
        "completeness": 1.0,
    }


CELLS = """() => Object.fromEntries([...document.querySelectorAll('#units tr[data-unit]')].map(
  (tr) => [tr.dataset.unit, {
    depth: tr.dataset.depth ?? null,
    text: tr.innerText,
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(
      (td) => [td.dataset.field, Number(td.dataset.value)])),
    products: [...tr.querySelectorAll('[data-product]')].map(
      (p) => [p.dataset.product, Number(p.dataset.value), p.dataset.grade]),
  }]))"""

SANKEY_LINKS = """async () => {
  const echarts = await import('/vendor/echarts/dist/echarts.esm.min.js');
  const chart = echarts.getInstanceByDom(document.getElementById('chart-flows'));
  return chart.getOption().series[0].links.map((l) => [l.source, l.target, l.value]);
}"""


def _grade(value: float, levels: dict[str, Any] | None) -> str:
    """Lower is better: level 1 the benchmark, level 3 the limit."""
    for n in (1, 2, 3):
        bound = (levels or {}).get(f"level{n}")
        if bound is not None and value <= bound:
            return str(n)
    return "over" if (levels or {}).get("level3") is not None else ""


def test_the_unit_balances_of_the_steel_works_day(works, page, screenshot_dir):
    doc, url = works
    want = doc["expected"]
    scale = want["total"]["tce"]
    answers: dict[str, Any] = {}
    page.on(
        "response",
        lambda r: answers.update(units=r) if "/units/balance?day=" in r.url else None,
    )
    log_in(page, url, *OPERATOR)
    page.wait_for_url(f"**/#/site/{doc['site']['code']}")
    page.wait_for_selector("#chart-flows[data-flows]", timeout=15_000)
    day = str(doc["day"])
    page.fill("#flows-day", day)
    page.dispatch_event("#flows-day", "change")
    page.wait_for_selector(f"#chart-flows[data-period='day:{day}']", timeout=15_000)

    rows = page.evaluate(CELLS)
    assert list(rows) == [*want["units"], "unmetered", "total"]  # parents before children
    assert {code: rows[code]["depth"] for code in want["units"]} == {
        "SINTER": "0",
        "IRON": "0",
        "STEEL": "0",
        "BOF": "1",
        "ROLL": "1",
        "UTIL": "0",
    }
    for code, figures in want["units"].items():
        cells = rows[code]["cells"]
        for field, key in (("own", "own"), ("allocated", "allocated"), ("balance", "tce")):
            assert close(cells[field], figures[key], scale), (code, field)
        # own = inputs − recovered, each shown
        assert close(cells["inputs"] - cells["recovered"], figures["own"], scale), code
    assert close(rows["BOF"]["cells"]["recovered"], 1000 * 0.03412 + 1500 * 0.03412, scale)
    assert close(rows["unmetered"]["cells"]["balance"], want["unmetered"]["tce"], scale)
    assert close(rows["total"]["cells"]["balance"], want["total"]["tce"], scale)
    assert "未分计量及损耗" in rows["unmetered"]["text"] and "8.574" in rows["unmetered"]["text"]
    assert "-52.107" in rows["BOF"]["text"] or "−52.107" in rows["BOF"]["text"]

    levels = {
        p["product"]: p["levels"] for u in answers["units"].json()["units"] for p in u["products"]
    }
    products = {
        name: (value, grade, code)
        for code, row in rows.items()
        for name, value, grade in row["products"]
    }
    assert set(products) == set(want["intensity"])
    for product, value in want["intensity"].items():
        got, grade, _ = products[product]
        assert close(got, value, abs(value)), product
        assert grade == _grade(value, levels[product]), product
    assert products["converter_steel"][2] == "BOF"  # shown in the row of the unit making it
    assert page.is_hidden("#products-section")  # no second, site-wide product table

    links = {(s, t): v for s, t, v in page.evaluate(SANKEY_LINKS)}
    roots = {code for code, u in want["units"].items() if u["tce"] > 0} - {"BOF", "ROLL"}
    assert {k for k in links if k[0] == "site" and k[1].startswith("unit:")} == {
        ("site", f"unit:{code}") for code in roots
    }
    for code in roots:
        assert close(links[("site", f"unit:{code}")], want["units"][code]["tce"], scale)
    assert close(links[("unit:STEEL", "unit:ROLL")], want["units"]["ROLL"]["tce"], scale)
    assert close(links[("site", "unmetered")], want["unmetered"]["tce"], scale)
    # the converter's negative balance and the utility's zero draw no link; no sub-meter nodes
    assert not any("BOF" in t or "UTIL" in t or t.startswith("sub:") for _, t in links)
    out = sum(v for (s, t), v in links.items() if s == "site")
    inputs = sum(v for (s, t), v in links.items() if t == "site")
    assert close(out, inputs, scale)  # what leaves the site is what entered it
    page.locator("#balance-panel").screenshot(path=str(screenshot_dir / "operator-units.png"))

    # the month holds only this day: the same units and remainder, from the month's answer
    page.select_option("#flows-period", "month")
    page.fill("#flows-month", day[:7])
    page.dispatch_event("#flows-month", "change")
    page.wait_for_selector(f"#chart-flows[data-period='month:{day[:7]}']", timeout=15_000)
    month = page.evaluate(CELLS)
    assert list(month) == list(rows)
    for code in month:
        assert close(month[code]["cells"]["balance"], rows[code]["cells"]["balance"], scale)

    page.click("#lang-toggle")
    page.wait_for_selector("#units tr[data-unit=unmetered]", timeout=15_000)
    page.wait_for_function(
        "document.querySelector('#units tr[data-unit=unmetered]').innerText"
        ".includes('Unmetered and losses')",
        timeout=15_000,
    )
