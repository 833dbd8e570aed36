"""A regulator sees a new alert arrive in the inbox, acknowledges it, and drills down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import log_in
from tests.e2e.seed import REGULATOR, SITE, acknowledged_by, insert_alert

pytestmark = pytest.mark.browser


def test_regulator_sees_new_alert_and_acknowledges_it(
    api_url, db_url, seeded, page, screenshot_dir
):
    now = datetime.now(UTC)
    insert_alert(db_url, seeded, site="TY-CEM-01", point=None, rule="budget-pace",
                 kind="budget_pace", severity="warning", value=1.12, threshold=1.05,
                 unit="ratio", at=now - timedelta(hours=2))
    log_in(page, api_url, REGULATOR[0], REGULATOR[1])
    page.wait_for_url("**/#/region")
    page.wait_for_selector("#ranking-table tr[data-site]", timeout=15_000)

    # The region's enterprises, ranked by breaches: the one with an alert first; the
    # enterprise of another region is not there.
    ranked = page.eval_on_selector_all("#ranking-table tr[data-site]",
                                       "rows => rows.map(r => r.dataset.site)")
    assert ranked == ["TY-CEM-01", "TY-COKE-01"]
    page.wait_for_selector("#inbox tr[data-alert-id]")
    assert page.locator("#inbox tr[data-alert-id]").count() == 1

    # A rule fires while the console is open: the inbox shows it without a reload.
    alert_id = insert_alert(db_url, seeded, site=SITE, point="KW", rule="contracted-demand",
                            kind="power", severity="critical", value=9650.0, threshold=9000.0,
                            unit="kW", at=datetime.now(UTC))
    row = page.locator(f"#inbox tr[data-alert-id='{alert_id}']")
    row.wait_for(timeout=15_000)
    assert "new" in (row.get_attribute("class") or "")
    assert "contracted-demand" in row.inner_text()
    assert "严重" in row.inner_text()
    assert page.inner_text("#inbox-count") == "2"
    page.wait_for_function(
        "() => document.querySelector('#ranking-table tr[data-site]').dataset.site"
        f" === '{SITE}'", timeout=15_000)  # a critical, firing alert ranks first
    page.screenshot(path=str(screenshot_dir / "regulator.png"), full_page=True)

    row.locator("button[data-ack]").click()
    row.locator("input[name=comment]").fill("已电话通知企业降负荷")
    row.locator("button[data-ack-confirm]").click()
    page.wait_for_selector(f"#inbox tr[data-alert-id='{alert_id}'][data-acked=yes]",
                           timeout=15_000)
    assert acknowledged_by(db_url, alert_id) == (REGULATOR[0], "已电话通知企业降负荷")
    assert "reg-taiyuan" in page.inner_text(f"#inbox tr[data-alert-id='{alert_id}']")
    page.screenshot(path=str(screenshot_dir / "regulator-acked.png"), full_page=True)

    # Drill down into the enterprise: its live page, with the alert in its list.
    page.click(f"#ranking-table tr[data-site='{SITE}']")
    page.wait_for_url(f"**/#/site/{SITE}")
    page.wait_for_selector("#live-status[data-state=open]", timeout=15_000)
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    page.wait_for_selector("#chart-budget canvas", timeout=15_000)
    page.wait_for_selector("#chart-intensity-0[data-points]", timeout=15_000)
    page.wait_for_selector(f"#alerts tr[data-alert-id='{alert_id}'][data-acked=yes]")
    page.screenshot(path=str(screenshot_dir / "regulator-drilldown.png"), full_page=True)
