"""Station pages: the regulator opens a stack's SO2 alert and sees the SO2 chart with the limit
line and the breach window; the greenhouse-gas station page shows its gases.

The alert comes from the real alerting service judging seeded CEMS minutes (SO2 40 mg/m3
measured at 9 % O2 for the last quarter hour: 50 at the reference 6 %, over the limit 35).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from energywatch.protocol import Quality
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from energywatch.storage.tables import points, readings, sites
from tests.e2e.conftest import log_in
from tests.e2e.processes import running_alerting_rules
from tests.e2e.seed import REGULATOR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATIONS = Path(__file__).with_name("stations.yaml")
RULES = """\
rules:
  - name: so2-ultra-low
    kind: pollutant
    source: "ultra-low emission limits, coal power: SO2 35 mg/m3"
    select: {measure: so2, role: emission}
    thresholds: {critical: 35}
    clear: 33
    window: 10m
    reference_o2: 6
    for: 3s
  - name: demand-over-contract
    kind: power
    select: {points: ["TY-COKE-01/KW"]}
    thresholds: {critical: 5000}
    window: 10m
"""
HOURS = 3


def seed_stations(db_url: str, now: datetime) -> None:
    engine = make_engine(db_url)
    try:
        import_registry_file(engine, STATIONS)
        with engine.begin() as conn:
            ids = {
                (site, code): pid
                for site, code, pid in conn.execute(
                    sa.select(sites.c.code, points.c.code, points.c.id).join(
                        sites, sites.c.id == points.c.site_id
                    )
                )
            }
            conn.execute(readings.insert(), list(history(ids, now)))
    finally:
        engine.dispose()


def history(ids: dict[tuple[str, str], int], now: datetime) -> Iterator[dict[str, object]]:
    """A reading a minute: the stack breaches in its last 15 minutes, after a calibration at
    the start of the last hour; the gases swing through the day, CO2 with a maintenance spell."""
    end = now.replace(second=0, microsecond=0)
    for k in range(HOURS * 60, 0, -1):
        ts = end - timedelta(minutes=k)
        calibrating = 55 <= k < 60
        so2 = 40.0 if k <= 15 else 22.0 + 2 * math.sin(k / 9)
        stack = {
            "SO2": (
                400.0 if calibrating else so2,
                Quality.INVALID if calibrating else Quality.GOOD,
            ),
            "NOX": (30.0 + 3 * math.sin(k / 7), Quality.GOOD),
            "O2": (9.0 if k <= 15 else 7.0, Quality.GOOD),
            "FLOW": (1.0e6, Quality.GOOD),
        }
        for code, (v, q) in stack.items():
            yield {"point_id": ids[("TY-CEMS-01", code)], "ts": ts, "value": v, "quality": int(q)}
        hour = ts.hour + ts.minute / 60
        gases = {
            "CO2": (420.0 + 8 * math.sin(hour / 24 * 2 * math.pi), 30 <= k < 40),
            "CH4": (2010.0 + 20 * math.sin(hour / 24 * 2 * math.pi), False),
            "CO": (180.0 + 30 * math.cos(hour / 24 * 2 * math.pi), False),
        }
        for code, (v, flagged) in gases.items():
            q = Quality.INVALID if flagged else Quality.GOOD
            yield {"point_id": ids[("TY-GHG-01", code)], "ts": ts, "value": v, "quality": int(q)}


@pytest.fixture
def stations(db_url: str, seeded: object) -> None:
    seed_stations(db_url, datetime.now(UTC))


@pytest.fixture
def alerting(db_url: str, stations: None, tmp_path: Path) -> Iterator[None]:
    with running_alerting_rules(db_url, RULES, tmp_path):
        yield


CHART_OPTION = """async (id) => {
  const echarts = await import('/vendor/echarts/dist/echarts.esm.min.js');
  const option = echarts.getInstanceByDom(document.getElementById(id)).getOption();
  return option.series.map((s) => ({
    id: s.id,
    points: (s.data ?? []).length,
    limits: (s.markLine?.data ?? []).map((d) => d.yAxis),
    areas: (s.markArea?.data ?? []).map((pair) => [pair[0].name, pair[0].xAxis, pair[1].xAxis]),
  }));
}"""


def open_firing_alert(page: Any, api_url: str, rule: str) -> None:
    """As the regulator: wait in the console for the rule's alert to fire, open its drill-down."""
    log_in(page, api_url, REGULATOR[0], REGULATOR[1])
    page.wait_for_url("**/#/region")
    page.wait_for_selector("#stations-table tr[data-station='TY-CEMS-01']", timeout=15_000)
    row = page.locator("#inbox tr[data-alert-id][data-state=firing]", has_text=rule)
    row.wait_for(timeout=30_000)
    alert_id = row.get_attribute("data-alert-id")
    row.locator(f"a[data-drill='{alert_id}']").click()
    page.wait_for_url(f"**/#/alert/{alert_id}")


def test_regulator_opens_a_stack_alert_on_its_so2_chart(api_url, alerting, page, screenshot_dir):
    open_firing_alert(page, api_url, "so2-ultra-low")
    page.wait_for_selector("#chart-so2[data-points]", timeout=15_000)
    series = page.evaluate(CHART_OPTION, "chart-so2")
    corrected = next(s for s in series if s["id"] == "corrected")
    assert corrected["limits"] == [35]
    assert corrected["points"] > 50  # the hour before the rule window and after
    names = [a[0] for a in corrected["areas"]]
    assert {"判定窗口", "持续时间", "超标时段"} <= set(names), names
    window, wait, breach = (
        next(a for a in corrected["areas"] if a[0] == n)
        for n in ("判定窗口", "持续时间", "超标时段")
    )
    assert window[2] - window[1] == 10 * 60_000  # the rule's 10-minute window before it began
    assert window[2] == wait[1] and wait[2] - wait[1] >= 3_000  # `for: 3s`, then it fired
    assert wait[2] == breach[1] < breach[2]
    assert any(a[0].startswith("无效") for a in corrected["areas"])  # the calibration minutes
    assert "so2-ultra-low" in page.inner_text("#focus")
    page.screenshot(path=str(screenshot_dir / "stack-alert.png"), full_page=True)


def test_ghg_station_page_shows_its_gases(api_url, stations, page, screenshot_dir):
    log_in(page, api_url, REGULATOR[0], REGULATOR[1])
    page.wait_for_url("**/#/region")
    page.click("#stations-table tr[data-station='TY-GHG-01']", timeout=15_000)
    page.wait_for_url("**/#/station/TY-GHG-01")
    for code in ("CO2", "CH4", "CO"):
        page.wait_for_selector(f"#chart-point-{code}[data-points]", timeout=15_000)
        (gas,) = page.evaluate(CHART_OPTION, f"chart-point-{code}")
        assert gas["points"] >= HOURS * 60 - 10, (code, gas)
    (co2,) = page.evaluate(CHART_OPTION, "chart-point-CO2")
    assert [a[0] for a in co2["areas"]] == ["无效（停运/维护/故障/校准/超量程）"]
    page.wait_for_selector("#chart-diurnal[data-points]")
    diurnal = page.evaluate(CHART_OPTION, "chart-diurnal")
    assert sorted(s["id"] for s in diurnal) == ["CH4", "CO", "CO2"]
    assert all(s["points"] == 24 for s in diurnal)
    page.screenshot(path=str(screenshot_dir / "ghg-station.png"), full_page=True)


def test_a_meter_alert_opens_on_its_readings_with_the_threshold(api_url, alerting, page):
    """Not a station: the drill-down draws the point's readings with the same lines."""
    open_firing_alert(page, api_url, "demand-over-contract")
    page.wait_for_selector("#chart-evidence[data-points]", timeout=15_000)
    (power,) = page.evaluate(CHART_OPTION, "chart-evidence")
    assert power["limits"] == [5000]
    assert power["points"] >= 60  # minute readings from an hour before the window
    assert "判定窗口" in [a[0] for a in power["areas"]]
