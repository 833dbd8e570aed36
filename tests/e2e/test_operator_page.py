"""The operator page beyond the live view, in a browser whose time zone is UTC (8 h from the
site's): chart axes in the site's time, localised names, the budget's projection basis, the
history range picker, report downloads and the energy-flow (Sankey) chart of a day.

The coke plant of tests/e2e/seed.py gets three more points here, with rollups in every bucket
of the seeded history: a level-2 electricity sub-meter, coke-oven gas sold to a neighbour and
recovered heat; and one older bucket ten days back, so that the budget has a span to project
from and the history a day outside its default week.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from energywatch.storage import daily
from energywatch.storage.engine import make_engine
from energywatch.storage.tables import consumption_15min, points
from tests.e2e.conftest import log_in
from tests.e2e.processes import running_api
from tests.e2e.seed import OPERATOR, SITE, TCE_PER_UNIT, Seeded

pytestmark = [pytest.mark.browser, pytest.mark.browser_timezone("UTC")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Per 15-minute bucket: code, name, measure, unit, role, level, quantity, tce.
EXTRA = (
    ("E02", "焦炉风机", "electricity", "kWh", "consumption", 2, 500.0, 500.0 * 0.1229e-3),
    ("X01", "焦炉煤气外供", "coke_oven_gas", "m3", "export", 1, 200.0, 200.0 * 0.5714e-3),
    ("H01", "干熄焦余热", "heat", "GJ", "recovered", 1, 4.0, 4.0 * 0.03412),
)
# The seeded inputs per bucket (tests/e2e/seed.py): code → (measure, tce).
SEEDED = {
    "E01": ("electricity", 8000 * 0.25 * TCE_PER_UNIT["electricity"]),
    "G01": ("natural_gas", 300.0 * TCE_PER_UNIT["natural_gas"]),
    "S01": ("steam", 7.5 * TCE_PER_UNIT["steam"]),
    "C01": ("washed_coal", 1.3 * TCE_PER_UNIT["washed_coal"]),
}
OLD_DAYS = 10
OLD_E01_KWH = 5000.0


def _buckets(conn: sa.Connection, point_id: int) -> list[datetime]:
    sql = "SELECT bucket FROM consumption_15min WHERE point_id = :p ORDER BY bucket"
    return list(conn.execute(sa.text(sql), {"p": point_id}).scalars())


@pytest.fixture
def flows_site(db_url: str, seeded: Seeded) -> Iterator[list[datetime]]:
    """Answers the buckets of the seeded history."""
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            site_id = seeded.site_ids[SITE]
            device = conn.execute(
                sa.text("SELECT device_id FROM points WHERE id = :p"),
                {"p": seeded.point_ids[(SITE, "E01")]},
            ).scalar_one()
            buckets = _buckets(conn, seeded.point_ids[(SITE, "E01")])
            rows: list[dict[str, object]] = []
            for code, name, measure, unit, role, level, qty, tce in EXTRA:
                pid = conn.execute(
                    points.insert()
                    .values(
                        site_id=site_id,
                        device_id=device,
                        code=code,
                        name=name,
                        measure=measure,
                        unit=unit,
                        kind="interval",
                        role=role,
                        metering_level=level,
                    )
                    .returning(points.c.id)
                ).scalar_one()
                rows += [
                    {"point_id": pid, "bucket": b, "quantity": qty, "tce": tce, "tco2": 0.0}
                    for b in buckets
                ]
            rows.append(
                {
                    "point_id": seeded.point_ids[(SITE, "E01")],
                    "bucket": buckets[0] - timedelta(days=OLD_DAYS),
                    "quantity": OLD_E01_KWH,
                    "tce": OLD_E01_KWH * TCE_PER_UNIT["electricity"],
                    "tco2": 0.0,
                }
            )
            conn.execute(consumption_15min.insert(), [{**r, "completeness": 1.0} for r in rows])
            daily.refresh_all(conn)
    finally:
        engine.dispose()
    yield buckets


@pytest.fixture
def flows_api(db_url: str, flows_site: list[datetime], tmp_path: Path) -> Iterator[str]:
    with running_api(db_url, tmp_path) as url:
        yield url


def _open(page: Any, api_url: str) -> None:
    log_in(page, api_url, OPERATOR[0], OPERATOR[1])
    page.wait_for_url(f"**/#/site/{SITE}")
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    page.wait_for_selector("#budget-text div", timeout=15_000)
    page.wait_for_selector("#chart-flows[data-flows]", timeout=15_000)
    page.wait_for_selector("#chart-history[data-first]", timeout=15_000)


AXIS_LABELS = """async (id) => {
  const echarts = await import('/vendor/echarts/dist/echarts.esm.min.js');
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  const axis = chart.getModel().getComponent('xAxis').axis;
  return axis.getViewLabels().map((l) => [l.tickValue, l.formattedLabel]);
}"""


# A chart's option as data (JSON drops the formatter functions).
CHART_OPTION = """async (id) => {
  const echarts = await import('/vendor/echarts/dist/echarts.esm.min.js');
  const option = echarts.getInstanceByDom(document.getElementById(id)).getOption();
  return JSON.parse(JSON.stringify({xAxis: option.xAxis, series: option.series}));
}"""


# Shows the tooltip of a point in the middle of the first series; answers its time and the
# tooltip's text once drawn.
TOOLTIP_OF_A_POINT = """async (id) => {
  const echarts = await import('/vendor/echarts/dist/echarts.esm.min.js');
  const el = document.getElementById(id);
  const chart = echarts.getInstanceByDom(el);
  const data = chart.getOption().series[0].data;
  const index = Math.floor(data.length / 2);
  chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: index});
  for (let i = 0; i < 50; i += 1) {
    const tip = [...el.querySelectorAll('div')].find((d) => d.style.position === 'absolute'
      && d.textContent.includes(':') && d.style.display !== 'none');
    if (tip) return [data[index][0], tip.textContent];
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return [data[index][0], ''];
}"""


def _site_label(ms: int, zone: ZoneInfo) -> str:
    local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
    return (
        local.strftime("%m-%d") if (local.hour, local.minute) == (0, 0) else local.strftime("%H:%M")
    )


def test_chart_axes_are_in_the_site_time_in_a_utc_browser(flows_api, page):
    _open(page, flows_api)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
    for chart in ("chart-power", "chart-consumption", "chart-intensity-0"):
        labels = page.evaluate(AXIS_LABELS, chart)
        assert len(labels) >= 2, chart
        for tick, text in labels:
            assert text == _site_label(tick, SHANGHAI), (chart, tick, text)
        # the same ticks written in the browser's zone would read 8 h earlier
        assert any(text != _site_label(tick, ZoneInfo("UTC")) for tick, text in labels)
    # The tooltip of a point says its time at the site.
    ts, text = page.evaluate(TOOLTIP_OF_A_POINT, "chart-power")
    at = datetime.fromtimestamp(ts / 1000, UTC)
    assert at.astimezone(SHANGHAI).strftime("%H:%M:%S") in text
    assert at.strftime("%H:%M:%S") not in text


def test_names_are_localised_and_the_budget_says_what_it_projects_from(flows_api, page):
    # The budget the page itself was answered (a later request would see a later "now").
    answers: dict[str, Any] = {}
    page.on(
        "response",
        lambda r: answers.update(budget=r) if r.url.split("?")[0].endswith("/budget") else None,
    )
    _open(page, flows_api)
    meta = page.inner_text("#site-meta")
    assert "焦化" in meta and "coke" not in meta
    assert page.inner_text("#today-by-measure tr[data-measure=natural_gas] td") == "天然气"
    assert "热力" in page.inner_text("#flows-recovered")  # the recovered heat, shown apart
    product = page.inner_text("#products tr[data-product=coke_top_charged] td")
    assert product == "焦炭（顶装）"

    budget = answers["budget"].json()
    energy = budget["energy"]
    text = page.inner_text("#budget-text")
    year_h = (
        datetime.fromisoformat(budget["period_end"])
        - datetime.fromisoformat(budget["period_start"])
    ).total_seconds() / 3600
    if budget["data_since"] is None:  # the first quarter-hour of a year
        assert "本年度暂无数据" in text
    elif energy["projection"] is None:  # less than a day of data this year (early January)
        assert f"数据仅 {budget['covered'] * year_h:,.1f} 小时" in text
        assert "暂不预测" in text
    else:
        since = datetime.fromisoformat(budget["data_since"]).astimezone(SHANGHAI).date()
        assert f"全年预测 {energy['projection']:,.0f} tce" in text
        assert f"数据自 {since} 起（{budget['covered'] * year_h / 24:,.1f} 天）" in text

    page.click("#lang-toggle")
    page.wait_for_selector("#chart-flows[data-flows]", timeout=15_000)
    meta = page.inner_text("#site-meta")
    assert "Coking" in meta
    assert "Heat" in page.inner_text("#flows-recovered")


def _local_day(ts: datetime) -> str:
    return ts.astimezone(SHANGHAI).date().isoformat()


def test_the_date_picker_changes_the_history_range(flows_api, flows_site, page, screenshot_dir):
    _open(page, flows_api)
    last = page.get_attribute("#chart-history", "data-last")
    now = datetime.now(UTC)  # the page opened a moment ago, perhaps before midnight
    assert last in (_local_day(now), _local_day(now - timedelta(minutes=1)))
    assert page.get_attribute("#chart-history", "data-days") == "7"
    old_day = _local_day(flows_site[0] - timedelta(days=OLD_DAYS))
    page.fill("#history-from", old_day)
    page.dispatch_event("#history-from", "change")
    page.wait_for_selector(f"#chart-history[data-first='{old_day}']", timeout=15_000)
    option = page.evaluate(CHART_OPTION, "chart-history")
    days = option["xAxis"][0]["data"]
    assert days[0] == old_day and days[-1] == last
    electricity = {s["id"]: s["data"] for s in option["series"]}["electricity"]
    assert electricity[0] == pytest.approx(OLD_E01_KWH * TCE_PER_UNIT["electricity"], rel=1e-9)
    # an end before the start is refused, and the chart keeps its range
    page.fill("#history-to", "2000-01-01")
    page.dispatch_event("#history-to", "change")
    assert page.inner_text("#history-error")
    assert page.get_attribute("#chart-history", "data-first") == old_day
    page.screenshot(path=str(screenshot_dir / "operator-utc.png"), full_page=True)


def _expected_links(buckets: list[datetime], day: str) -> dict[tuple[str, str], float]:
    n = sum(1 for b in buckets if _local_day(b) == day)
    inputs = {f"in:{m}": n * tce for m, tce in SEEDED.values()}
    sub = n * EXTRA[0][7]
    sold = n * EXTRA[1][7]
    links = {(k, "site"): v for k, v in inputs.items()}
    links[("site", "sub:E02")] = sub
    links[("site", "out:coke_oven_gas")] = sold
    links[("site", "unmetered")] = sum(inputs.values()) - sub - sold
    return links


def test_the_energy_flow_chart_of_a_day_and_its_report(flows_api, flows_site, page, screenshot_dir):
    _open(page, flows_api)
    day = _local_day(flows_site[-1])
    if page.input_value("#flows-day") != day:  # the seeded history ended before midnight
        page.fill("#flows-day", day)
        page.dispatch_event("#flows-day", "change")
    page.wait_for_selector(f"#chart-flows[data-period='day:{day}']", timeout=15_000)
    links = page.evaluate(CHART_OPTION, "chart-flows")["series"][0]["links"]
    got = {(link["source"], link["target"]): link["value"] for link in links}
    want = _expected_links(flows_site, day)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    # the recovered heat is no flow: its fuel is already an input
    assert not any("heat" in s or "heat" in t for s, t in got)
    page.locator("#balance-panel").screenshot(path=str(screenshot_dir / "operator-flows.png"))

    with page.expect_download() as csv_download:
        page.click("#download-csv")
    assert csv_download.value.suggested_filename == f"energywatch-{SITE}-{day}.csv"
    body = Path(csv_download.value.path()).read_text("utf-8-sig")
    rows = {r["point"]: r for r in csv.DictReader(io.StringIO(body))}
    total = (
        sum(v for (s, _), v in want.items() if s != "site") - want[("site", "out:coke_oven_gas")]
    )
    assert float(rows["TOTAL"]["tce"]) == pytest.approx(total, rel=1e-9)

    page.select_option("#flows-period", "month")
    page.wait_for_selector(f"#chart-flows[data-period='month:{day[:7]}']", timeout=15_000)
    with page.expect_download() as xlsx_download:
        page.click("#download-xlsx")
    assert xlsx_download.value.suggested_filename == f"energywatch-{SITE}-{day[:7]}.xlsx"
    assert Path(xlsx_download.value.path()).read_bytes()[:2] == b"PK"  # a zip: an xlsx
