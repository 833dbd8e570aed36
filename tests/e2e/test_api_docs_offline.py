"""The API documentation (/docs: Swagger UI, /redoc: ReDoc) works on a plant network without
the internet: every script, style, icon and font comes from the API itself.

The browser reaches the API by a host name, as on a real site (Swagger UI behaves differently
for localhost), and resolves no other name: any request elsewhere fails, and is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.processes import running_api

pytestmark = pytest.mark.browser

HOST = "energywatch.test"
# Only the API's host name resolves (to the loopback address); the internet is unreachable.
OFFLINE = f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND"


class OfflinePage:
    """A page of a browser without the internet, with what it tried to fetch elsewhere and
    the script errors it met."""

    def __init__(self, context: object) -> None:
        self.elsewhere: list[str] = []
        self.errors: list[str] = []
        self.page = context.new_page()  # type: ignore[attr-defined]
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )
        context.route("**/*", self._route)  # type: ignore[attr-defined]

    def _route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname != HOST:
            self.elsewhere.append(url)
            route.abort()  # type: ignore[attr-defined]
        else:
            route.continue_()  # type: ignore[attr-defined]


@pytest.fixture
def offline(browser: object) -> Iterator[OfflinePage]:
    # A browser of its own: the host resolver rules are a launch option.
    chromium = browser.browser_type.launch(  # type: ignore[attr-defined]
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, OFFLINE]
    )
    try:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        yield OfflinePage(context)
        context.close()
    finally:
        chromium.close()


@pytest.fixture
def docs_base(db_url: str, tmp_path: Path) -> Iterator[str]:
    with running_api(db_url, tmp_path) as url:
        yield url.replace("127.0.0.1", HOST)


def test_swagger_ui_renders_the_operations_without_the_internet(
    docs_base: str, offline: OfflinePage, screenshot_dir: Path
) -> None:
    page = offline.page
    page.goto(f"{docs_base}/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    paths = page.eval_on_selector_all(
        ".opblock .opblock-summary-path", "nodes => nodes.map(n => n.dataset.path)"
    )
    assert "/api/v1/sites" in paths and "/api/v1/auth/token" in paths
    assert len(paths) > 20
    # The operations can be tried: the form of one opens.
    page.click("#operations-health-healthz_healthz_get .opblock-summary")
    page.wait_for_selector("#operations-health-healthz_healthz_get .try-out__btn")
    page.screenshot(path=str(screenshot_dir / "api-docs-swagger.png"))
    assert offline.elsewhere == []
    assert offline.errors == []


def test_redoc_renders_the_operations_without_the_internet(
    docs_base: str, offline: OfflinePage, screenshot_dir: Path
) -> None:
    page = offline.page
    page.goto(f"{docs_base}/redoc")
    page.wait_for_selector("[data-section-id^='tag/']", timeout=30_000)
    operations = page.locator("[data-section-id^='operation/']").count()
    assert operations > 20
    assert "/api/v1/sites" in page.inner_text("body")
    page.screenshot(path=str(screenshot_dir / "api-docs-redoc.png"))
    assert offline.elsewhere == []
    # ReDoc's sidebar logo is on Redocly's CDN: the page's policy refuses it, and ReDoc
    # leaves it out. That refusal is the one console message allowed.
    assert page.locator("img[alt='redocly logo']").count() == 0
    unexpected = [e for e in offline.errors if not ("cdn.redoc.ly" in e and "Policy" in e)]
    assert unexpected == []
