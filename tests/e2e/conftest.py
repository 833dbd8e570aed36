"""Browser tests: Debian's headless Chromium driven by Playwright, against the real API,
the real database and, for live data, the real broker and ingest service.

Playwright is used with the system browser only (`executable_path`); its own browser
downloads are never needed. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.e2e.processes import REPO, running_api, running_ingest
from tests.e2e.seed import Seeded, seed
from tests.support.services import BrokerAddress

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ECHARTS = REPO / "services" / "api" / "dashboard" / "node_modules" / "echarts"


# Package scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, which would break later tests that call asyncio.run() if it lived for the session.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install chromium)")
    if not ECHARTS.is_dir():
        pytest.skip("ECharts is not installed (npm ci in services/api/dashboard)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1400, "height": 1000},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error"
            else None
        ),
    )
    try:
        yield page
        # A script error or a failed request fails the test: the page may look right and
        # still be broken. Checked before closing, which cuts the live stream. A test that
        # stops a service on purpose names the errors it expects (marker tolerate_console).
        marker = request.node.get_closest_marker("tolerate_console")
        expected = marker.args if marker else ()
        unexpected = [e for e in errors if not any(x in e for x in expected)]
        assert not unexpected, unexpected
    finally:
        context.close()


@pytest.fixture
def seeded(db_url: str) -> Seeded:
    return seed(db_url, datetime.now(UTC))


@pytest.fixture
def api_url(db_url: str, seeded: Seeded, tmp_path: Path) -> Iterator[str]:
    with running_api(db_url, tmp_path) as url:
        yield url


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def log_in(page: object, api_url: str, username: str, password: str) -> None:
    page.goto(f"{api_url}/")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("#login-submit")  # type: ignore[attr-defined]


@pytest.fixture
def ingest(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, tmp_path: Path
) -> Iterator[None]:
    with running_ingest(db_url, mqtt_broker, topic_prefix, tmp_path):
        yield


@pytest.fixture
def publisher(mqtt_broker: BrokerAddress) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"e2e-gw-{time.time_ns()}")
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()
