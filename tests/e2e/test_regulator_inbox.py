"""What the regulator's inbox holds, as the regulator sees it in the browser.

Advisories stay out unless asked for; a critical alert that resolves unacknowledged stays in,
marked resolved, until someone acknowledges it; an acknowledgement shows its comment; each
value says the window it was computed over; shipped rules show by their localised names. The
alerts come from the real pipeline: readings through the broker and ingest, judged by the
alerting service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from energywatch.protocol.topics import DeviceTopics
from tests.e2e.conftest import log_in
from tests.e2e.processes import running_alerting_rules
from tests.e2e.seed import REGULATOR, SITE, acknowledged_by

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # three services and a browser: ~40 s

# The cement plant's meter has never reported: flagged at once by a warning rule and by an
# info rule named like the shipped one (so it shows as "计量点无数据"). The coke plant's demand
# over 9,500 kW on a 10-second mean is critical; its history stays below 9,100 kW.
RULES = """\
rules:
  - name: quality.silent
    kind: silent
    select: {points: ["TY-CEM-01/E01"]}
    thresholds: {info: 0}
  - name: meter-silent
    kind: silent
    select: {points: ["TY-CEM-01/E01"]}
    thresholds: {warning: 0}
  - name: contracted-demand
    kind: power
    select: {points: ["TY-COKE-01/KW"]}
    thresholds: {critical: 9500}
    window: 10s
"""
COMMENT = "已通知企业检修电表"


@pytest.fixture
def alerting(db_url: str, seeded: object, tmp_path: Path) -> Iterator[None]:
    with running_alerting_rules(db_url, RULES, tmp_path):
        yield


def _publish_until(publisher, topic, kw, done, what, timeout=40.0):
    """Publish the coke plant's power once a second, as its gateway would, until `done`."""
    deadline = time.monotonic() + timeout
    seq = int(time.time() * 1000)  # unique across calls
    while not done():
        assert time.monotonic() < deadline, what
        ts = datetime.now(UTC).replace(microsecond=0).isoformat()
        body = {"seq": seq, "readings": [{"point": "KW", "ts": ts, "v": kw}]}
        publisher.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)
        seq += 1
        time.sleep(1)  # the gateway's reporting period, not a wait for a result


def test_inbox_shows_what_needs_the_regulator(
    api_url, db_url, ingest, alerting, publisher, topic_prefix, page, screenshot_dir
):
    log_in(page, api_url, REGULATOR[0], REGULATOR[1])
    page.wait_for_url("**/#/region")
    inbox = page.locator("#inbox")
    warning_row = inbox.locator("tr[data-alert-id]", has_text="meter-silent")
    warning_row.wait_for(timeout=20_000)

    # The advisory is counted but not listed until the regulator asks for advisories.
    page.wait_for_function(
        "() => document.querySelector('#inbox-count-info').textContent === '1'", timeout=15_000
    )
    assert inbox.locator("tr[data-severity=info]").count() == 0
    assert page.inner_text("#inbox-count") == "1"
    page.check("#inbox-filter input[data-severity=info]")
    advisory = inbox.locator("tr[data-severity=info]")
    advisory.wait_for(timeout=10_000)
    # Shown by its localised name, the rule id on hover.
    assert "计量点无数据" in advisory.inner_text()
    assert advisory.locator("td.rule").get_attribute("title") == "quality.silent"
    page.uncheck("#inbox-filter input[data-severity=info]")
    advisory.wait_for(state="detached", timeout=10_000)

    # Acknowledged with a comment: the comment shows with the alert.
    warning_id = int(warning_row.get_attribute("data-alert-id") or 0)
    warning_row.locator("button[data-ack]").click()
    warning_row.locator("input[name=comment]").fill(COMMENT)
    warning_row.locator("button[data-ack-confirm]").click()
    acked = inbox.locator(f"tr[data-alert-id='{warning_id}'][data-acked=yes]")
    acked.wait_for(timeout=15_000)
    assert acknowledged_by(db_url, warning_id) == (REGULATOR[0], COMMENT)
    assert COMMENT in acked.locator(".ack-comment").inner_text()

    # Demand goes over the limit: a critical alert, with the window its value is a mean of.
    topic = DeviceTopics(SITE, "gw01", topic_prefix).readings
    critical = inbox.locator("tr[data-severity=critical]", has_text="contracted-demand")
    _publish_until(publisher, topic, 9800.0, lambda: critical.count() == 1, "never fired")
    critical_id = int(critical.get_attribute("data-alert-id") or 0)
    assert critical.get_attribute("data-state") == "firing"
    assert "近 10 秒，截至" in critical.locator(".alert-window").inner_text()

    # Demand falls back before anyone acknowledged: the alert resolves and stays, marked so.
    resolved = inbox.locator(f"tr[data-alert-id='{critical_id}'][data-state=resolved]")
    _publish_until(publisher, topic, 5000.0, lambda: resolved.count() == 1, "never resolved")
    assert "已恢复" in resolved.inner_text()
    assert resolved.get_attribute("data-acked") == "no"
    page.screenshot(path=str(screenshot_dir / "regulator-inbox-resolved.png"), full_page=True)
    page.reload()
    resolved.wait_for(timeout=15_000)  # from the server, not a leftover of the page
    assert page.inner_text("#inbox-count-critical") == "1"

    # Once acknowledged it has been read: it leaves the inbox.
    resolved.locator("button[data-ack]").click()
    resolved.locator("button[data-ack-confirm]").click()
    inbox.locator(f"tr[data-alert-id='{critical_id}']").wait_for(state="detached", timeout=15_000)
    assert acknowledged_by(db_url, critical_id) == (REGULATOR[0], "")
    page.wait_for_function(
        "() => document.querySelector('#inbox-count-critical').textContent === '0'",
        timeout=15_000,
    )

    # In English the shipped rule has its English name.
    page.click("#lang-toggle")
    page.wait_for_selector("#inbox-filter input[data-severity=info]")
    page.check("#inbox-filter input[data-severity=info]")
    english = inbox.locator("tr[data-severity=info]")
    english.wait_for(timeout=15_000)
    assert "Meter silent" in english.inner_text()
    assert "Advisory" in english.inner_text()
