"""The dashboard under its Content-Security-Policy: pages, charts and their tooltips work, and
the browser reports no violation."""

from __future__ import annotations

import httpx
import pytest

from services.api.security_headers import CONTENT_SECURITY_POLICY
from tests.e2e.conftest import log_in
from tests.e2e.seed import OPERATOR, REGULATOR, SITE

pytestmark = pytest.mark.browser

# Installed before any page script runs; the console check of the `page` fixture sees the same
# violations as errors, this names them.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def test_dashboard_works_under_its_content_security_policy(api_url, page):
    assert httpx.get(f"{api_url}/").headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, api_url, OPERATOR[0], OPERATOR[1])
    page.wait_for_url(f"**/#/site/{SITE}")
    page.wait_for_selector("#live-status[data-state=open]", timeout=15_000)
    page.wait_for_selector("#chart-power[data-points]", timeout=15_000)
    # ECharts writes its tooltip as HTML with style attributes: hover to have one drawn.
    chart = page.locator("#chart-power")
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)
    marker = chart.locator("span[style*='border-radius']").first
    marker.wait_for(state="visible", timeout=10_000)
    assert marker.evaluate("(el) => getComputedStyle(el).display") == "inline-block"
    assert page.evaluate("window.__violations") == []

    page.click("#logout")
    log_in(page, api_url, REGULATOR[0], REGULATOR[1])
    page.wait_for_url("**/#/region**")
    page.wait_for_selector("table", timeout=15_000)
    assert page.evaluate("window.__violations") == []
