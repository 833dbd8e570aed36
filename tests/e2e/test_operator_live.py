"""An operator signs in and watches the live chart move when a reading reaches the broker."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from energywatch.protocol.topics import DeviceTopics
from tests.e2e.conftest import log_in
from tests.e2e.seed import OPERATOR, SITE

pytestmark = pytest.mark.browser

LAST_POWER_POINT = """async () => {
  const echarts = await import('/vendor/echarts/dist/echarts.esm.min.js');
  const chart = echarts.getInstanceByDom(document.getElementById('chart-power'));
  const data = chart.getOption().series[0].data;
  return data[data.length - 1];
}"""


def _token(api_url: str) -> str:
    answer = httpx.post(
        f"{api_url}/api/v1/auth/token", data={"username": OPERATOR[0], "password": OPERATOR[1]}
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def test_operator_sees_live_chart_move_after_a_reading_is_published(
    api_url, ingest, publisher, page, topic_prefix, screenshot_dir
):
    log_in(page, api_url, OPERATOR[0], OPERATOR[1])
    page.wait_for_url(f"**/#/site/{SITE}")
    page.wait_for_selector("#live-status[data-state=open]", timeout=15_000)
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    page.wait_for_selector("#chart-budget canvas", timeout=15_000)
    page.wait_for_selector("#chart-intensity-0", timeout=15_000)

    # The page shows what the API answers: today's totals and the site's name.
    live = httpx.get(
        f"{api_url}/api/v1/sites/{SITE}/live",
        headers={"Authorization": f"Bearer {_token(api_url)}"},
    ).json()
    assert page.inner_text("#site-name") == "太原示例焦化有限公司"
    assert page.inner_text("#today-tce") == f"{live['today']['tce']:,.2f}"
    assert page.inner_text("#today-tco2") == f"{live['today']['tco2']:,.2f}"
    assert page.locator("#today-by-measure tr[data-measure]").count() == len(
        live["today"]["by_measure"]
    )
    page.screenshot(path=str(screenshot_dir / "operator.png"), full_page=True)

    points_before = int(page.get_attribute("#chart-power", "data-points") or 0)
    topic = DeviceTopics(SITE, "gw01", topic_prefix).readings
    published: dict[str, float] = {}  # "ts as the page writes it" -> value
    deadline = time.monotonic() + 30
    seen = None
    seq = 0
    # Ingest may still be subscribing: publish a fresh reading each second until one shows.
    while time.monotonic() < deadline and seen is None:
        ts = datetime.now(UTC).replace(microsecond=0)
        value = 9876.5 + seq
        body = {"seq": seq, "readings": [{"point": "KW", "ts": ts.isoformat(), "v": value}]}
        publisher.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)
        published[ts.isoformat().replace("+00:00", ".000Z")] = value
        seq += 1
        for _ in range(10):
            newest = page.get_attribute("#chart-power", "data-newest")
            if newest in published:
                seen = newest
                break
            time.sleep(0.1)
    assert seen is not None, f"no published reading reached the chart; published {published}"
    last_ts, last_value = page.evaluate(LAST_POWER_POINT)
    assert last_value == published[seen]
    assert (
        datetime.fromtimestamp(last_ts / 1000, UTC).isoformat().replace("+00:00", ".000Z") == seen
    )
    assert int(page.get_attribute("#chart-power", "data-points") or 0) > points_before
    page.screenshot(path=str(screenshot_dir / "operator-live.png"), full_page=True)


def test_language_toggle_switches_to_english_and_is_remembered(api_url, page, screenshot_dir):
    log_in(page, api_url, OPERATOR[0], OPERATOR[1])
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    assert page.inner_text("#lang-toggle") == "English"
    assert "实时功率" in page.inner_text("main")

    page.click("#lang-toggle")
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    assert "Live power" in page.inner_text("main")
    assert page.evaluate("document.documentElement.lang") == "en"

    page.reload()
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    assert "Live power" in page.inner_text("main")
    assert page.inner_text("#lang-toggle") == "中文"
    page.screenshot(path=str(screenshot_dir / "operator-en.png"), full_page=True)
