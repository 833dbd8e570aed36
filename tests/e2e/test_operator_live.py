"""An operator signs in and watches the live chart move when a reading reaches the broker."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from energywatch.protocol.topics import DeviceTopics
from energywatch.storage.engine import make_engine
from energywatch.storage.tables import readings
from services.demo.broker import free_port
from tests.e2e.conftest import log_in
from tests.e2e.processes import running_api
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


@pytest.mark.tolerate_console(
    "ERR_CONNECTION_REFUSED", "ERR_INCOMPLETE_CHUNKED_ENCODING", "status of 401", "MIME type"
)
def test_the_live_stream_comes_back_after_the_api_restarts(db_url, seeded, page, tmp_path):
    """The API goes away for longer than a stream ticket lives: the browser's own reconnection
    is refused (expired ticket), and the page opens a new stream with a new ticket."""
    port = free_port()
    short_tickets = {"ENERGYWATCH_API__STREAM_TICKET_S": "2"}
    tickets: list[int] = []  # statuses of ticket requests
    refused: list[str] = []  # streams the API refused
    page.on(
        "response",
        lambda r: (
            tickets.append(r.status)
            if "/auth/stream-ticket" in r.url
            else refused.append(r.url)
            if "/stream?" in r.url and r.status == 401
            else None
        ),
    )
    with running_api(db_url, tmp_path, port, **short_tickets) as api_url:
        log_in(page, api_url, OPERATOR[0], OPERATOR[1])
        page.wait_for_selector("#live-status[data-state=open]", timeout=15_000)
        page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    page.wait_for_selector("#live-status[data-state=closed]", timeout=15_000)
    time.sleep(3)  # the first ticket has expired
    with running_api(db_url, tmp_path, port, **short_tickets):
        page.wait_for_selector("#live-status[data-state=open]", timeout=30_000)
        ts = datetime.now(UTC).replace(microsecond=0)
        engine = make_engine(db_url, pool_size=1)
        try:
            with engine.begin() as conn:
                conn.execute(
                    readings.insert().values(
                        point_id=seeded.point_ids[(SITE, "KW")], ts=ts, value=4321.0, quality=0
                    )
                )
        finally:
            engine.dispose()
        expected = ts.isoformat().replace("+00:00", ".000Z")
        page.wait_for_selector(f"#chart-power[data-newest='{expected}']", timeout=15_000)
        assert page.evaluate(LAST_POWER_POINT)[1] == 4321.0
    assert refused, "the browser's reconnection with the expired ticket was not refused"
    assert tickets[:1] == [200] and tickets.count(200) >= 2
